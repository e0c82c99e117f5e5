"""The worker's and the reaper's side of a run: claiming it, heartbeats and progress, its end, and dispatch records."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from db.models import FailureCause, Run, RunStatus, Submission, utcnow
from db.queries.queue_position import queued_in_fair_order
from db.queries.transitions import transition_run
from harness.registry import FLIP_DESIGN
from harness.result import validate_result


@dataclass(frozen=True)
class ClaimedRun:
    """What a worker needs to train a run it now owns, for this attempt; its seeds are the worker's to derive
    (scoring.trials.run_seeds): the poison seed is stored nowhere."""

    run_id: int
    submission_id: int
    attempt: int
    benchmark: str
    trial: int
    seed: int  # the stored training seed
    legacy_seed: bool
    suite: str
    code: str
    sha256: str
    filename: str | None  # the uploaded file's name; None for a submission stored before names were


def claim_next_run(session: Session, worker: str) -> ClaimedRun | None:
    """The first queued run in the queue's fair order (queries.queue_position.fair_order), claimed; None when no run
    is queued. A Celery message means "one run's worth of work": which run is decided here, not by the message.

    On PostgreSQL the run and its submission are locked with SKIP LOCKED: two workers claiming at once take two
    different runs instead of waiting on each other, and the submission is locked before the run's status changes,
    in the order every other transition takes (no deadlock). SQLite serialises writers (BEGIN IMMEDIATE).
    """
    run_id = session.scalar(
        queued_in_fair_order(Run.id).limit(1).with_for_update(skip_locked=True, of=[Run, Submission])
    )
    return None if run_id is None else claim_run(session, run_id, worker)


def claim_run(session: Session, run_id: int, worker: str) -> ClaimedRun | None:
    """queued -> running for this worker, counting an attempt; None if the run is not queued (taken)."""
    now = utcnow()
    changed = transition_run(
        session,
        run_id,
        RunStatus.RUNNING,
        attempts=Run.attempts + 1,
        worker=worker,
        started_at=now,
        heartbeat_at=now,
        finished_at=None,
        epochs_done=0,
        curve=[],
    )
    if changed is None:
        return None
    run = session.execute(
        select(
            Run.benchmark,
            Run.trial,
            Run.seed,
            Run.legacy_seed,
            Submission.suite,
            Submission.code,
            Submission.sha256,
            Submission.filename,
        )
        .join(Submission, Run.submission_id == Submission.id)
        .where(Run.id == run_id)
    ).one()
    return ClaimedRun(run_id, changed["submission_id"], changed["attempts"], *run)


def record_heartbeat(session: Session, run_id: int, attempt: int) -> bool:
    """False when the run is no longer this attempt's to train (cancelled, requeued by the reaper)."""
    return _update_own_run(session, run_id, attempt, heartbeat_at=utcnow())


def record_progress(session: Session, run_id: int, attempt: int, curve: list[dict], epochs_total: int) -> bool:
    """The attempt's curve so far (the whole list: no read-modify-write), which is also a heartbeat."""
    return _update_own_run(
        session,
        run_id,
        attempt,
        curve=curve,
        epochs_done=len(curve),
        epochs_total=epochs_total,
        heartbeat_at=utcnow(),
    )


def _update_own_run(session: Session, run_id: int, attempt: int, **values: Any) -> bool:
    result = session.execute(
        update(Run)
        .where(
            Run.id == run_id,
            Run.attempts == attempt,
            Run.status == RunStatus.RUNNING,
            Run.superseded_at.is_(None),
        )
        .values(**values),
    )
    return result.rowcount == 1


def result_columns(result: dict) -> dict[str, Any]:
    """The run's columns a succeeded RunResult.to_dict() fills, checked against harness.result's schema first
    (ResultSchemaError otherwise)."""
    validate_result(result)
    return {
        "metrics": result["metrics"],
        "curve": result["curve"],
        "environment": result["environment"],
        "result": result,
        "harness_version": result["harness_version"],
        "epochs_done": len(result["curve"]),
    }


def complete_run(session: Session, run_id: int, attempt: int, result: dict, log_tail: str) -> bool:
    """running -> succeeded with the harness's RunResult.to_dict(); False if the attempt lost the run. A transfer
    run is marked with this harness's flip design, which trained it.

    A result that does not match harness.result's schema raises ResultSchemaError and nothing is stored.
    """
    changed = transition_run(
        session,
        run_id,
        RunStatus.SUCCEEDED,
        attempt=attempt,
        **result_columns(result),
        flip_design=case((Run.transfer, FLIP_DESIGN), else_=None),
        finished_at=utcnow(),
        error=None,
        failure_cause=None,
        log_tail=log_tail,
    )
    return changed is not None


def fail_run(
    session: Session,
    run_id: int,
    attempt: int,
    error: str,
    cause: FailureCause,
    log_tail: str,
    harness_version: str,
) -> bool:
    changed = transition_run(
        session,
        run_id,
        RunStatus.FAILED,
        attempt=attempt,
        error=error,
        failure_cause=cause,
        finished_at=utcnow(),
        log_tail=log_tail,
        harness_version=harness_version,
    )
    return changed is not None


def requeue_run(session: Session, run_id: int, attempt: int, error: str) -> bool:
    """running -> queued after an infrastructure failure; the error stays until the next attempt ends."""
    changed = transition_run(
        session,
        run_id,
        RunStatus.QUEUED,
        attempt=attempt,
        error=error,
        queued_at=utcnow(),
        dispatched_at=None,
    )
    return changed is not None


def stale_runs(session: Session, heartbeat_before: datetime) -> Sequence[tuple[int, int]]:
    """(run id, attempt) of running runs whose worker has been silent since `heartbeat_before`."""
    rows = session.execute(
        select(Run.id, Run.attempts).where(
            Run.status == RunStatus.RUNNING, Run.superseded_at.is_(None), Run.heartbeat_at < heartbeat_before
        )
    )
    return [(row.id, row.attempts) for row in rows]


def nothing_queued(session: Session) -> bool:
    """No current run waits for a worker (running ones may still train)."""
    waiting = select(Run.id).where(Run.status == RunStatus.QUEUED, Run.superseded_at.is_(None)).limit(1)
    return session.scalar(waiting) is None


def undispatched_runs(session: Session, dispatched_before: datetime | None = None) -> list[int]:
    """Queued runs whose message was never sent or, given `dispatched_before`, was sent before it."""
    sent_long_ago = Run.dispatched_at.is_(None)
    if dispatched_before is not None:
        sent_long_ago = sent_long_ago | (Run.dispatched_at < dispatched_before)
    query = select(Run.id).where(Run.status == RunStatus.QUEUED, Run.superseded_at.is_(None), sent_long_ago)
    return list(session.scalars(query.order_by(Run.queued_at, Run.id)))


def mark_dispatched(session: Session, run_ids: Sequence[int]) -> None:
    session.execute(update(Run).where(Run.id.in_(run_ids)).values(dispatched_at=utcnow()))
