"""PostgreSQL stopped for seconds while a worker writes a run's progress: the worker waits, nothing is lost."""

import time

import pytest

from settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

WAITING = "the database is unreachable, writing again"  # what the worker logs while it waits


@pytest.fixture
def service_settings(service_settings: Settings) -> Settings:
    """Heartbeats may stay silent through the outage, as in production (15 s beats, 120 s timeout): the reaper
    must not hand the run to another worker while its own worker only waits for the database."""
    return service_settings.model_copy(update={"heartbeat_timeout": 60})


def test_a_worker_waits_out_a_database_outage_mid_run_and_neither_loses_nor_doubles_a_result(
    tmp_path, postgres_server, slow_submission_mid_training, wait_until, progress_of, final_runs, succeeded_once
):
    log = tmp_path / "worker.log"
    training = slow_submission_mid_training(log)
    workers = training.workers
    postgres_server.stop()
    waiting = progress_of(None, workers)  # the database is down: the worker's own work is the only news
    wait_until(
        lambda: WAITING in log.read_text(), 90, "the worker to write the next epoch's progress", progress=waiting
    )
    time.sleep(3)
    postgres_server.start()
    status, runs = final_runs(training.submission_id, 150, workers)
    succeeded_once(status, runs)
    assert [run.attempts for run in runs] == [1] * len(runs)  # the worker waited instead of giving up
