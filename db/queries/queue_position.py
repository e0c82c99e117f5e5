"""The queue's one order (which queued run starts next), where a submission stands in it, and when it should start.

The worker's claim (queries.runs.claim_next_run) and the estimate shown to participants both read `fair_order`,
so the position a page shows is the order the workers follow.
"""

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from db.models import Run, RunStatus, Submission, SubmissionKind, SubmissionStatus, utcnow

RECENT_RUNS_FOR_ESTIMATE = 20  # per suite and benchmark: the median of their durations estimates one run
RECENT_RUNS_READ = 500  # the latest succeeded runs read to find them


@dataclass(frozen=True)
class QueueEstimate:
    runs_ahead: int  # queued runs that start before this submission's first one
    position: int  # 1 + runs_ahead
    estimated_start: datetime | None  # None before any run has finished to time


def fair_order() -> list[ColumnElement]:
    """The order queued runs start in, round-robin by submission: extra trials (docs/statistics.md) after every
    other run, so they never hold back anyone's planned trials; the transfer track (docs/transfer.md) after every
    announced-flip run, so it delays no one's scores; then every submission's trial 1 on every benchmark
    before anyone's trial 2; within a trial participants' submissions before the service's own (baselines and
    published methods, which have no one waiting for them); then the submission with fewest runs of that trial
    already started, so that submissions take turns run by run; then first come, first served.

    So a baseline rerun of any size holds a participant's first trial back by at most the runs the workers already
    hold. Needs `Submission` joined to `Run`.
    """
    started = aliased(Run)
    started_in_trial = (
        select(func.count())
        .where(
            started.submission_id == Run.submission_id,
            started.trial == Run.trial,
            started.pending_replacement == Run.pending_replacement,
            started.transfer == Run.transfer,
            started.superseded_at.is_(None),
            started.status != RunStatus.QUEUED,
        )
        .scalar_subquery()
    )
    service_last = case((Submission.kind == SubmissionKind.SUBMISSION, 0), else_=1)
    return [extra_trial_last(), Run.transfer, Run.trial, service_last, started_in_trial, Run.queued_at, Run.id]


def extra_trial_last() -> ColumnElement:
    """1 for a run of a trial beyond the submission's planned ones (queries.submissions.add_extra_trial), else 0.
    Needs `Submission` joined to `Run`."""
    return case((Run.trial > Submission.trials_planned, 1), else_=0)


def queued_in_fair_order(*columns: ColumnElement) -> Select:
    """`columns` of every queued current run (a rerun's pending runs too), in `fair_order`."""
    return (
        select(*columns)
        .join(Submission, Run.submission_id == Submission.id)
        .where(Run.status == RunStatus.QUEUED, Run.superseded_at.is_(None))
        .order_by(*fair_order())
    )


def queue_estimate(session: Session, submission: Submission) -> QueueEstimate | None:
    """Where the submission's first run stands in the queue while it waits to start; None once it runs (or
    without a queued run)."""
    if submission.status is not SubmissionStatus.QUEUED:
        return None
    queue = session.execute(queued_in_fair_order(Run.submission_id, Submission.suite, Run.benchmark)).all()
    ahead = next((index for index, run in enumerate(queue) if run.submission_id == submission.id), None)
    if ahead is None:
        return None
    return QueueEstimate(ahead, ahead + 1, _estimated_start(session, [(r.suite, r.benchmark) for r in queue[:ahead]]))


def _estimated_start(session: Session, runs_ahead: Sequence[tuple[str, str]]) -> datetime | None:
    """Now + the runs ahead, each at the median duration of recent runs of its suite and benchmark, spread over the
    workers. While there is a queue every worker is busy, so the running runs count the workers.

    A benchmark never run yet is timed at the median over every recent run; with no finished run at all there is
    nothing to time, and the estimate is None.
    """
    recent = session.execute(
        select(Submission.suite, Run.benchmark, Run.started_at, Run.finished_at)
        .join(Submission, Run.submission_id == Submission.id)
        .where(Run.status == RunStatus.SUCCEEDED, Run.started_at.is_not(None), Run.finished_at.is_not(None))
        .order_by(Run.finished_at.desc())
        .limit(RECENT_RUNS_READ)
    ).all()
    if not recent:
        return None
    durations: dict[tuple[str, str], list[float]] = defaultdict(list)
    for run in recent:
        if len(durations[(run.suite, run.benchmark)]) < RECENT_RUNS_FOR_ESTIMATE:
            durations[(run.suite, run.benchmark)].append((run.finished_at - run.started_at).total_seconds())
    overall = statistics.median(seconds for runs in durations.values() for seconds in runs)
    median = {key: statistics.median(runs) for key, runs in durations.items()}
    workers = session.scalar(select(func.count()).where(Run.status == RunStatus.RUNNING)) or 1
    wait = sum(median.get(key, overall) for key in runs_ahead) / workers
    return utcnow() + timedelta(seconds=wait)
