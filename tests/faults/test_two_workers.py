"""Two workers on one queue with more runs than workers: each run is trained by exactly one of them, once."""

import re

import pytest

from db.models import RunStatus, SubmissionStatus
from harness.registry import Suite, trained_benchmark_names

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

READY = "ready."  # what a Celery worker logs once it consumes


def test_two_workers_share_the_runs_and_no_run_is_trained_twice(
    upload, start_worker, tmp_path, wait_until, progress_of, final_runs, slow_loss_file, service_settings
):
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    workers = [start_worker(log=log) for log in logs] + [start_worker("--maintenance")]
    started = progress_of(None, tuple(workers))
    wait_until(lambda: all(log.exists() and READY in log.read_text() for log in logs), 90, "both workers", started)
    accepted = upload(slow_loss_file(0.05), "quick")  # three benchmarks x two trials for two workers
    assert accepted.status_code == 202, accepted.text
    status, runs = final_runs(accepted.json()["id"], 300, tuple(workers))
    assert status is SubmissionStatus.SUCCEEDED
    trials = range(1, service_settings.trials(Suite.SMOKE) + 1)
    expected = sorted((benchmark, trial) for benchmark in trained_benchmark_names(Suite.SMOKE) for trial in trials)
    assert len(runs) == len(expected) > len(logs)
    assert sorted((run.benchmark, run.trial) for run in runs) == expected  # one row per run
    assert all(run.status is RunStatus.SUCCEEDED and run.attempts == 1 for run in runs)
    # The workers' own words: which runs each started and stored.
    started = [re.findall(r"submission \d+ run (\d+) attempt", log.read_text()) for log in logs]
    stored = [re.findall(r"run (\d+) succeeded", log.read_text()) for log in logs]
    assert sorted(int(run_id) for ids in started for run_id in ids) == [run.id for run in runs]
    assert sorted(int(run_id) for ids in stored for run_id in ids) == [run.id for run in runs]
    assert all(ids for ids in started), f"one worker trained nothing: {started}"
