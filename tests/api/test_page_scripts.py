"""The pages' scripts read the metric and status names from /schema.js, written from the result schema and the
status enum: a name changed there reaches every page, and no script types one again."""

import json
import re
from pathlib import Path

from api.pages import STATIC_DIR
from db.models import RunStatus, SubmissionStatus
from harness.result import METRICS, PRIMARY_METRIC

SCRIPTS = sorted((STATIC_DIR / "js").glob("*.js"))  # ours; the vendored libraries are under vendor/
NAMES = [metric.name for metric in METRICS] + [status.value for status in (*RunStatus, *SubmissionStatus)]


def _schema(client) -> dict:
    response = client.get("/schema.js")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/javascript")
    return json.loads(re.search(r"Object\.freeze\((.*)\);", response.text).group(1))


def test_the_schema_module_names_every_metric_with_its_description_and_direction_and_every_status(client):
    schema = _schema(client)
    assert [(m["name"], m["description"], m["higherIsBetter"]) for m in schema["metrics"]] == [
        (metric.name, metric.description, metric.higher_is_better) for metric in METRICS
    ]
    assert schema["primaryMetric"] == PRIMARY_METRIC
    assert schema["curveMetrics"] == ["test_acc", "poison_fit"]  # the metrics a run's curve records
    assert sorted(schema["status"].values()) == sorted(status.value for status in RunStatus)
    assert schema["activeStatuses"] == ["queued", "running"]


def _code(script: Path) -> str:
    """The script without its comments."""
    return re.sub(r"^\s*//.*$|\s//\s.*$", "", script.read_text(), flags=re.MULTILINE)


def test_no_script_of_the_pages_types_a_metric_or_status_name_itself():
    assert SCRIPTS
    typed = [
        (script.name, name)
        for script in SCRIPTS
        for name in NAMES
        if re.search(rf"[\"'`]{name}[\"'`]|\.{name}\b", _code(script))  # a string of its own, or a property
    ]
    assert typed == []


def test_every_page_that_runs_a_script_reading_the_schema_loads_it_first(client, factory):
    submission = factory.submission()
    for path in ("/compare?ids=1,2", f"/submissions/{submission.id}"):
        page = client.get(path).text
        scripts = [src for src in re.findall(r'<script src="([^"]+)"', page) if "/vendor/" not in src]
        assert scripts[0] == "/schema.js", (path, scripts)
