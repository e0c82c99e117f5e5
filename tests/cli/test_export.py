"""`poisonbench admin export --out DIR`: every submission and run as JSON and CSV, without code or log tails."""

import csv
import json

import pytest
from sqlalchemy import func, select

from cli.main import main
from db import queries
from db.migrate import upgrade
from db.models import Run, Submission
from db.session import session_scope
from harness.registry import Suite, benchmark_names
from settings import get_settings
from tests.conftest import Factory

SECRET_CODE = "class RobustLoss:  # export-secret-41d0\n    pass\n"
SECRET_LOG = "Traceback: export-log-7e55"


@pytest.fixture
def database_url(tmp_path, monkeypatch):
    """A committed embedded database holding a finished submission, one benchmark rerun, and a queued one."""
    url = f"sqlite:///{tmp_path / 'poisonbench.sqlite3'}"
    upgrade(url)
    with session_scope(url) as session:
        factory = Factory(session)
        finished = factory.submission(code=SECRET_CODE)
        factory.finish(finished, robust_score=0.75)
        for run in finished.runs:
            run.log_tail = SECRET_LOG
        queries.submissions.rerun_submission(
            session, finished, factory.plan(), benchmarks=[benchmark_names(Suite.SMOKE)[0]]
        )
        factory.finish(finished, robust_score=0.75)  # the rerun's run replaces the first benchmark's
        factory.submission()
    monkeypatch.setenv("POISONBENCH_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_the_export_holds_every_submission_and_every_run_with_its_metrics(database_url, tmp_path, capsys):
    out = tmp_path / "export"
    runs_per_submission = len(benchmark_names(Suite.SMOKE))
    assert main(["admin", "export", "--out", str(out)]) == 0
    total_runs = 2 * runs_per_submission + 1  # the rerun's superseded run stays as history
    assert f"exported 2 submissions and {total_runs} runs" in capsys.readouterr().out

    submissions = json.loads((out / "submissions.json").read_text())
    assert [s["status"] for s in submissions] == ["succeeded", "queued"]
    finished = submissions[0]
    assert finished["participant"] and finished["sha256"] and len(finished["runs"]) == runs_per_submission + 1
    superseded = [run for run in finished["runs"] if run["superseded_at"] is not None]
    assert len(superseded) == 1 and superseded[0]["metrics"]["robust_score"] == 0.75

    with (out / "runs.csv").open(newline="") as table:
        rows = list(csv.DictReader(table))
    assert len(rows) == total_runs
    succeeded = [row for row in rows if row["status"] == "succeeded"]
    assert len(succeeded) == runs_per_submission + 1  # the superseded one too
    assert all(float(row["robust_score"]) == 0.75 and float(row["test_acc"]) == 0.75 for row in succeeded)
    assert {row["submission_id"] for row in rows} == {str(s["id"]) for s in submissions}


def test_the_export_never_holds_the_code_or_the_log_tail(database_url, tmp_path):
    with session_scope(database_url) as session:  # both are in the database
        assert session.scalar(select(func.count()).where(Run.log_tail == SECRET_LOG))
        assert session.scalar(select(func.count()).where(Submission.code == SECRET_CODE)) == 1
    out = tmp_path / "export"
    assert main(["admin", "export", "--out", str(out)]) == 0
    for name in ("submissions.json", "runs.csv"):
        text = (out / name).read_text()
        assert "export-secret-41d0" not in text and "export-log-7e55" not in text
    submission = json.loads((out / "submissions.json").read_text())[0]
    assert "code" not in submission and "log_tail" not in submission["runs"][0]
