"""The queue's one order (which queued run starts next), where a submission stands in it, and when it should start
and finish (the arithmetic in db/queue_forecast.py).

The worker's claim (queries.runs.claim_next_run) and the estimate shown to participants both read `fair_order`,
so the position a page shows is the order the workers follow.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, case, func, select, union
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from db.models import Run, RunStatus, Submission, SubmissionKind, SubmissionStatus, utcnow
from db.queue_forecast import (
    QueuedRun,
    RunningRun,
    SubmissionTimes,
    TimedRun,
    claim_order,
    forecast,
    median_durations,
)

RECENT_RUNS_READ = 500  # the latest runs trained here read to time each suite and benchmark
# A worker that finished a run this recently counts as live: between two runs it trains none.
WORKER_SEEN_WITHIN = timedelta(minutes=5)


@dataclass(frozen=True)
class QueueEstimate:
    runs_ahead: int | None  # queued runs that start before this submission's first one; None once it runs
    position: int | None  # 1 + runs_ahead
    estimated_start: datetime | None  # None once it runs, or when a run before it cannot be timed yet
    estimated_finish: datetime | None  # None when one of its runs, or one before them, cannot be timed yet


def fair_order() -> list[ColumnElement]:
    """The order queued runs start in, round-robin by submission: background runs (extra trials, docs/statistics.md,
    and reruns of the service's entries, whose results stay shown meanwhile) after every other run, so they never
    hold back anyone's planned trials; the transfer track (docs/transfer.md) after every
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
    return [background_last(), Run.transfer, Run.trial, service_last, started_in_trial, Run.queued_at, Run.id]


def background_last() -> ColumnElement:
    """1 for a run no one waits for, else 0: a trial beyond the submission's planned ones
    (queries.submissions.add_extra_trial), or a rerun of a baseline or published method, whose results stay on the
    board until it is done (worker/recorded_replacement.py, or an admin's rerun). Needs `Submission` joined to
    `Run`."""
    service_rerun = Run.pending_replacement.is_(True) & (Submission.kind != SubmissionKind.SUBMISSION)
    return case((Run.trial > Submission.trials_planned, 1), (service_rerun, 1), else_=0)


def queued_in_fair_order(*columns: ColumnElement) -> Select:
    """`columns` of every queued current run (a rerun's pending runs too), in `fair_order`."""
    return (
        select(*columns)
        .join(Submission, Run.submission_id == Submission.id)
        .where(Run.status == RunStatus.QUEUED, Run.superseded_at.is_(None))
        .order_by(*fair_order())
    )


def queue_estimate(session: Session, submission: Submission) -> QueueEstimate | None:
    """Where a queued or running submission stands and when it should start and finish; None once it has ended
    (or without a current queued or running run)."""
    if submission.status not in (SubmissionStatus.QUEUED, SubmissionStatus.RUNNING):
        return None
    queue = queued_runs(session)
    times = submission_times(session, queue).get(submission.id)
    if times is None:
        return None
    if submission.status is not SubmissionStatus.QUEUED:
        return QueueEstimate(None, None, None, times.finish)
    ahead = next((index for index, run in enumerate(claim_order(queue)) if run.submission_id == submission.id), None)
    if ahead is None:
        return QueueEstimate(None, None, None, times.finish)
    return QueueEstimate(ahead, ahead + 1, times.start, times.finish)


def queued_runs(session: Session) -> list[QueuedRun]:
    """Every queued current run in the fair order now, with its key (db.queue_forecast.claim_order replays it)."""
    order = fair_order()
    rows = session.execute(
        queued_in_fair_order(Run.submission_id, Submission.suite, Run.benchmark, Run.pending_replacement, *order)
    ).all()
    queue = []
    for submission_id, suite, benchmark, pending, extra, transfer, trial, service, started, *tie in rows:
        turn = (submission_id, trial, pending, transfer)  # the runs fair_order's started_in_trial counts together
        queue.append(
            QueuedRun(submission_id, suite, benchmark, turn, (extra, transfer, trial, service), started, tuple(tie))
        )
    return queue


def submission_times(session: Session, queue: list[QueuedRun] | None = None) -> dict[int, SubmissionTimes]:
    """Start and finish of every submission with a queued or running run (db.queue_forecast.forecast): the running
    runs' time left, the queue in its order, the durations of runs trained here (recorded results, trained on
    another machine and stored with no duration, never count) and the live workers."""
    running = session.execute(
        select(Run.submission_id, Submission.suite, Run.benchmark, Run.started_at, Run.epochs_done, Run.epochs_total)
        .join(Submission, Run.submission_id == Submission.id)
        .where(Run.status == RunStatus.RUNNING, Run.superseded_at.is_(None), Run.started_at.is_not(None))
    ).all()
    trained_here = session.execute(
        select(Submission.suite, Run.benchmark, Run.started_at, Run.finished_at)
        .join(Submission, Run.submission_id == Submission.id)
        .where(
            Run.status == RunStatus.SUCCEEDED,
            Run.recorded.is_(False),
            Run.started_at.is_not(None),
            Run.finished_at.is_not(None),
        )
        .order_by(Run.finished_at.desc())
        .limit(RECENT_RUNS_READ)
    ).all()
    durations = median_durations(
        TimedRun(run.suite, run.benchmark, (run.finished_at - run.started_at).total_seconds()) for run in trained_here
    )
    return forecast(
        utcnow(),
        [RunningRun(*row) for row in running],
        queued_runs(session) if queue is None else queue,
        durations,
        live_workers(session),
    )


def live_workers(session: Session) -> int:
    """The workers training a run now or that finished one within WORKER_SEEN_WITHIN; 1 when none is known."""
    names = union(
        select(Run.worker).where(Run.status == RunStatus.RUNNING, Run.worker.is_not(None)),
        select(Run.worker).where(
            Run.recorded.is_(False), Run.worker.is_not(None), Run.finished_at >= utcnow() - WORKER_SEEN_WITHIN
        ),
    ).subquery()
    return session.scalar(select(func.count()).select_from(names)) or 1
