"""A worker process killed with SIGKILL in the middle of a run: the run is finished once, by a new worker."""

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_a_worker_killed_mid_run_loses_nothing_and_the_run_completes_once_on_a_new_worker(
    start_worker, service_processes, slow_submission_mid_training, final_runs, succeeded_once
):
    training = slow_submission_mid_training()
    first, maintenance = training.workers
    service_processes.kill(first)
    second = start_worker()
    status, runs = final_runs(training.submission_id, 120, (maintenance, second))
    # One row per benchmark (one seed): the killed attempt left no second row and was not superseded.
    succeeded_once(status, runs)
    assert {run.id: run.attempts for run in runs if run.attempts != 1} == {training.run_id: 2}
