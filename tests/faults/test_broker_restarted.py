"""Redis killed and started again, empty, while a run trains and others wait in it: every run still ends once."""

import time

import pytest

from db.models import RunStatus, SubmissionStatus
from harness.registry import Suite, benchmark_names

pytestmark = pytest.mark.timeout(240)


def test_runs_whose_messages_died_with_the_broker_are_sent_again_and_each_runs_once(
    upload, start_worker, redis_server, database, wait_until, final_runs, slow_loss_file
):
    workers = start_worker(), start_worker("--maintenance")
    accepted = upload(slow_loss_file(0.5), "slow")
    assert accepted.status_code == 202, accepted.text
    submission_id = accepted.json()["id"]
    running = "SELECT id FROM runs WHERE submission_id = :s AND status = 'running' AND epochs_done >= 1"
    wait_until(lambda: database(running, {"s": submission_id}), 90, "a run mid-training")
    redis_server.stop()  # no persistence: the queued runs' messages are gone for good
    time.sleep(3)
    redis_server.start()
    status, runs = final_runs(submission_id, 150, workers)
    assert status is SubmissionStatus.SUCCEEDED
    assert sorted(run.benchmark for run in runs) == sorted(benchmark_names(Suite.SMOKE))  # one row per run
    assert all(run.status is RunStatus.SUCCEEDED and run.result is not None for run in runs)
    assert [run.attempts for run in runs] == [1] * len(runs)  # the run training through it was not restarted
