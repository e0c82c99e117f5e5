"""The names the pages' scripts read, written as one JavaScript module from their Python definitions: the metrics
(name, description, direction) of the result schema, which of them a run's curve records, and the statuses. No
script types them again."""

import dataclasses
import json
from functools import cache

from db.models import RunStatus
from db.status import ACTIVE_RUN_STATUSES
from harness.result import METRICS, PRIMARY_METRIC, EpochRecord


@cache
def schema_script() -> str:
    """`const poisonbenchSchema = {...}`, the object the pages' scripts read."""
    curve_fields = {field.name for field in dataclasses.fields(EpochRecord)}
    schema = {
        "metrics": [
            {
                "name": metric.name,
                "description": metric.description,
                "higherIsBetter": metric.higher_is_better,
                "arrow": metric.arrow,
            }
            for metric in METRICS
        ],
        "primaryMetric": PRIMARY_METRIC,
        "curveMetrics": [metric.name for metric in METRICS if metric.name in curve_fields],
        # By the enum's member names, as Python code names them (RunStatus.QUEUED); submissions' are the same.
        "status": {status.name: status.value for status in RunStatus},
        "activeStatuses": sorted(ACTIVE_RUN_STATUSES),
    }
    return f'"use strict";\nconst poisonbenchSchema = Object.freeze({json.dumps(schema, ensure_ascii=False)});\n'
