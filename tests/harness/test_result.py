"""The result schema: written once, torch-free, and the one place metric names, descriptions and directions live."""

import dataclasses
import subprocess
import sys

import pytest

from harness.registry import Suite, benchmarks_in
from harness.result import (
    METRIC_NAMES,
    METRICS,
    SCHEMA_VERSION,
    EpochRecord,
    Metrics,
    ResultSchemaError,
    RunResult,
    validate_result,
)


def _result() -> RunResult:
    metrics = Metrics(test_acc=0.7, poison_fit=0.2, poison_fit_noaug=0.25, clean_fit=0.9, robust_score=0.75)
    return RunResult(
        benchmark=benchmarks_in(Suite.SMOKE)[0],
        seed=1,
        poison_seed=None,
        loss_sha256="0" * 64,
        metrics=metrics,
        curve=[EpochRecord(0, 0, 1.5, 0.6, 0.3, 0.8), EpochRecord(1, 50, 1.2, 0.7, 0.2, 1.6)],
        environment={"device": "cpu"},
        wall_seconds=2.0,
        train_seconds=1.6,
        images_per_second=320.0,
        precision="fp32",
    )


def test_a_stored_result_validates_back_to_the_result_it_came_from():
    result = _result()
    assert validate_result(result.to_dict()) == result


def test_a_result_of_another_schema_version_is_refused():
    record = {**_result().to_dict(), "schema_version": SCHEMA_VERSION + 1}
    with pytest.raises(ResultSchemaError, match="schema_version"):
        validate_result(record)


def test_every_metric_of_the_result_has_a_description_and_a_direction_in_field_order():
    assert tuple(field.name for field in dataclasses.fields(Metrics)) == METRIC_NAMES
    assert all(metric.description for metric in METRICS)
    directions = {metric.name: metric.higher_is_better for metric in METRICS}
    assert directions["robust_score"] and directions["test_acc"] and not directions["poison_fit"]


def test_the_result_schema_imports_no_torch_so_the_api_and_the_database_can_read_it():
    code = "import sys, harness.result; sys.exit(1 if 'torch' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0
