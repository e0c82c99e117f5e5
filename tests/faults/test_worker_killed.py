"""A worker process killed with SIGKILL in the middle of a run: the run is finished once, by a new worker."""

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_a_worker_killed_mid_run_loses_nothing_and_the_run_completes_once_on_a_new_worker(
    upload,
    start_worker,
    service_processes,
    run_mid_training,
    final_runs,
    succeeded_once,
    slow_loss_file,
):
    first, maintenance = start_worker(), start_worker("--maintenance")
    accepted = upload(slow_loss_file(0.5), "slow")
    assert accepted.status_code == 202, accepted.text
    submission_id = accepted.json()["id"]
    killed_run = run_mid_training(submission_id, (first, maintenance))
    service_processes.kill(first)
    second = start_worker()
    status, runs = final_runs(submission_id, 120, (maintenance, second))
    # One row per benchmark (one seed): the killed attempt left no second row and was not superseded.
    succeeded_once(status, runs)
    assert {run.id: run.attempts for run in runs if run.attempts != 1} == {killed_run: 2}
