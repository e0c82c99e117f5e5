"""Where a submission stands in the queue, and when its first run should start."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Run, RunStatus, Submission, utcnow

RECENT_RUNS_FOR_ESTIMATE = 20  # finished runs whose mean duration estimates the wait


@dataclass(frozen=True)
class QueueEstimate:
    runs_ahead: int  # queued runs of other submissions that will start before this one's first
    position: int  # 1 + runs_ahead
    estimated_start: datetime | None  # None without finished runs to measure a duration on


def queue_estimate(session: Session, submission: Submission) -> QueueEstimate | None:
    """Where the submission's first queued run stands in the queue; None if it has none."""
    first_queued = min(
        (run.queued_at for run in submission.runs if run.status is RunStatus.QUEUED), default=None
    )
    if first_queued is None:
        return None
    ahead = (
        session.scalar(
            select(func.count()).where(
                Run.status == RunStatus.QUEUED,
                Run.superseded_at.is_(None),
                Run.queued_at < first_queued,
                Run.submission_id != submission.id,
            )
        )
        or 0
    )
    return QueueEstimate(ahead, ahead + 1, _estimated_start(session, ahead))


def _estimated_start(session: Session, runs_ahead: int) -> datetime | None:
    """Now + the runs ahead spread over the busy workers, at the mean duration of recent runs.

    While there is a queue every worker is busy, so the running runs count the workers.
    """
    recent = session.execute(
        select(Run.started_at, Run.finished_at)
        .where(Run.status == RunStatus.SUCCEEDED, Run.started_at.is_not(None))
        .order_by(Run.finished_at.desc())
        .limit(RECENT_RUNS_FOR_ESTIMATE)
    ).all()
    if not recent:
        return None
    mean_run = sum(((r.finished_at - r.started_at) for r in recent), timedelta()) / len(recent)
    workers = session.scalar(select(func.count()).where(Run.status == RunStatus.RUNNING)) or 1
    return utcnow() + mean_run * (runs_ahead / workers)
