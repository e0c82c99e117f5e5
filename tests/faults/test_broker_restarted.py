"""Redis killed and started again, empty, while a run trains and others wait in it: every run still ends once."""

import time

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_runs_whose_messages_died_with_the_broker_are_sent_again_and_each_runs_once(
    redis_server, slow_submission_mid_training, final_runs, succeeded_once
):
    training = slow_submission_mid_training()
    redis_server.stop()  # no persistence: the queued runs' messages are gone for good
    time.sleep(3)
    redis_server.start()
    status, runs = final_runs(training.submission_id, 150, training.workers)
    succeeded_once(status, runs)
    assert [run.attempts for run in runs] == [1] * len(runs)  # the run training through it was not restarted
