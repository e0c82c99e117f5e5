"""Redis killed and started again, empty, while a run trains and others wait in it: every run still ends once."""

import time

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_runs_whose_messages_died_with_the_broker_are_sent_again_and_each_runs_once(
    upload, start_worker, redis_server, run_mid_training, final_runs, succeeded_once, slow_loss_file
):
    workers = start_worker(), start_worker("--maintenance")
    accepted = upload(slow_loss_file(0.5), "slow")
    assert accepted.status_code == 202, accepted.text
    submission_id = accepted.json()["id"]
    run_mid_training(submission_id, workers)
    redis_server.stop()  # no persistence: the queued runs' messages are gone for good
    time.sleep(3)
    redis_server.start()
    status, runs = final_runs(submission_id, 150, workers)
    succeeded_once(status, runs)
    assert [run.attempts for run in runs] == [1] * len(runs)  # the run training through it was not restarted
