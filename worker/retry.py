"""The worker's one retry policy: a failed attempt is queued again or failed, and whose fault it is; a write that
meets an unreachable database is tried again in place, for a bounded time."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_delay, wait_random_exponential

import harness
from db import queries
from db.models import FailureCause
from db.session import session_scope
from harness.contract import LossContractError
from harness.result import ResultSchemaError
from settings import Settings

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Backoff between two tries of a write while the database is unreachable: exponential from 0.5 s, capped at 5 s,
# each wait drawn at random below its bound (full jitter), so workers cut off together do not return in step.
RECONNECT_FIRST_WAIT = 0.5  # seconds
RECONNECT_MAX_WAIT = 5.0  # seconds: a restarted database is noticed within this


class WorkerWentSilent(Exception):
    """The reaper's finding: the attempt's worker stopped sending heartbeats (crashed, killed or cut off)."""


class RunOverBudget(Exception):
    """The process training the run used more than run_time_limit seconds of CPU time: a harness or machine
    matter, never the loss's (the sandboxed loss's own time is limited and charged separately)."""


@dataclass(frozen=True)
class Decision:
    """What becomes of a run after a failed attempt."""

    error: str  # what the participant reads
    cause: FailureCause | None  # whose fault the final failure is; None: queued again for another attempt


def decide(failure: Exception, attempt: int, settings: Settings) -> Decision:
    """The policy. The loss's faults (it broke the contract, it used up its own time, CPU or memory: the sandbox's
    limits, docs/security.md) are final and the participant's. A result that does not match the schema is the
    harness's bug: final (another attempt makes the same result), reported as the infrastructure's so it is not
    held against the participant. Anything else is the infrastructure's, the run's CPU budget and its hang guard
    included (the loss's part of the time is bounded on its own): queued again while attempts remain, then
    final."""
    if isinstance(failure, LossContractError):
        return Decision(str(failure), FailureCause.LOSS)
    if isinstance(failure, ResultSchemaError):
        # The schema's details go to the worker's log (the caller logs the exception), not to the participant.
        error = "the service produced a malformed result for this run; a fault of the service, not counted against you"
        return Decision(error, FailureCause.INFRASTRUCTURE)
    if isinstance(failure, WorkerWentSilent):
        reason = f"the worker stopped sending heartbeats on attempt {attempt} (crashed, killed or cut off)"
    elif isinstance(failure, RunOverBudget):
        reason = f"the run used more than its {settings.run_time_limit} s of CPU time on attempt {attempt}"
    elif isinstance(failure, SoftTimeLimitExceeded):
        reason = f"the run was unfinished after {settings.run_hang_limit} s, taken as stuck, on attempt {attempt}"
    else:
        reason = f"infrastructure failure on attempt {attempt}: {type(failure).__name__}"
    if attempt < settings.max_attempts:
        return Decision(reason, None)
    return Decision(
        f"{reason}; given up after {attempt} attempts (not counted against you)", FailureCause.INFRASTRUCTURE
    )


def settle(session: Session, run_id: int, attempt: int, decision: Decision, log_tail: str) -> bool:
    """Applies the decision to the run, if this attempt still owns it; True when it changed the run."""
    if decision.cause is None:
        return queries.runs.requeue_run(session, run_id, attempt, decision.error)
    return queries.runs.fail_run(
        session, run_id, attempt, decision.error, decision.cause, log_tail, harness.HARNESS_VERSION
    )


def write_retrying(settings: Settings, write: Callable[[Session], T]) -> T:
    """The write in a transaction of its own, tried again while the database cannot be reached (a restart, a
    failover) for up to heartbeat_timeout seconds: a run's progress and result are not thrown away for a blip.
    Longer than that, the reaper may have given the run to another worker, so the attempt gives up (re-raises)."""
    retrying = Retrying(
        retry=retry_if_exception_type(OperationalError),
        wait=wait_random_exponential(multiplier=RECONNECT_FIRST_WAIT, max=RECONNECT_MAX_WAIT),
        stop=stop_after_delay(settings.heartbeat_timeout),
        before_sleep=_log_waiting,
        reraise=True,
    )
    return retrying(_in_transaction, settings.sqlalchemy_url, write)


def _in_transaction(database_url: str, write: Callable[[Session], T]) -> T:
    with session_scope(database_url) as session:
        return write(session)


def _log_waiting(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    logger.warning("the database is unreachable, writing again in %.1f s: %s", wait, getattr(error, "orig", error))
