"""The one retry policy: what a failed attempt becomes, whose fault it is, and how a write waits for the database."""

import time

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import OperationalError

from db.models import FailureCause
from harness.contract import LossContractError
from harness.result import ResultSchemaError
from worker.retry import RunOverBudget, WorkerWentSilent, decide, write_retrying


def test_the_losss_own_failures_are_final_and_the_losss_on_the_first_attempt(worker_settings):
    decision = decide(LossContractError("line 3: compute_loss raised ValueError"), 1, worker_settings)
    assert decision.cause is FailureCause.LOSS


def test_the_hang_guard_is_not_the_losss_fault_and_is_reported_with_its_seconds(worker_settings):
    decision = decide(SoftTimeLimitExceeded(), 1, worker_settings)
    assert decision.cause is None  # queued again: a stuck trainer, not the loss
    assert f"unfinished after {worker_settings.run_hang_limit} s, taken as stuck" in decision.error


def test_the_cpu_budget_is_not_the_losss_fault_and_is_reported_with_its_seconds(worker_settings):
    decision = decide(RunOverBudget(), 1, worker_settings)
    assert decision.cause is None
    assert f"more than its {worker_settings.run_time_limit} s of CPU time" in decision.error


def test_a_result_that_breaks_the_schema_is_final_at_once_and_not_held_against_the_participant(worker_settings):
    decision = decide(ResultSchemaError("metrics.test_acc: Field required"), 1, worker_settings)
    assert decision.cause is FailureCause.INFRASTRUCTURE and "not counted against you" in decision.error


@pytest.mark.parametrize(
    "failure", [RuntimeError("the sandbox died"), WorkerWentSilent(), SoftTimeLimitExceeded(), RunOverBudget()]
)
def test_an_infrastructure_failure_is_queued_again_until_the_last_attempt_then_final(worker_settings, failure):
    last = worker_settings.max_attempts
    assert all(decide(failure, attempt, worker_settings).cause is None for attempt in range(1, last))
    final = decide(failure, last, worker_settings)
    assert final.cause is FailureCause.INFRASTRUCTURE and f"given up after {last} attempts" in final.error


def test_a_silent_worker_is_named_in_the_error(worker_settings):
    assert "stopped sending heartbeats on attempt 1" in decide(WorkerWentSilent(), 1, worker_settings).error


def test_a_write_to_an_unreachable_database_is_tried_again_then_given_up_after_the_heartbeat_timeout(
    worker_settings,
):
    # A port nobody listens on: every connection is refused at once, as while PostgreSQL restarts.
    settings = worker_settings.model_copy(update={"database_url": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    tries = []

    def write(session):
        tries.append(time.monotonic())
        return session.connection()

    began = time.monotonic()
    with pytest.raises(OperationalError):
        write_retrying(settings, write)
    assert len(tries) >= 2 and time.monotonic() - began >= settings.heartbeat_timeout
