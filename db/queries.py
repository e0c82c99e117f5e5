"""Every query the API, the worker and the admin command share; statuses change in `transition_run` only."""

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session, selectinload

from db.leaderboard import METRIC_NAMES, LeaderboardEntry, MetricRow, ShownSubmission, rank_entries
from db.models import (
    FailureCause,
    Participant,
    Run,
    RunStatus,
    Submission,
    SubmissionKind,
    SubmissionStatus,
    utcnow,
)
from db.status import ACTIVE_RUN_STATUSES, RunOutcome, failure_cause, sources_of, submission_status
from db.tokens import new_token, token_matches, token_sha256

RECENT_RUNS_FOR_ESTIMATE = 20  # finished runs whose mean duration estimates the wait

# ---------------------------------------------------------------- participants


def create_participant(
    session: Session, display_name: str, is_admin: bool = False
) -> tuple[Participant, str]:
    """The new participant and its token, which is shown this once and never stored."""
    token = new_token()
    participant = Participant(display_name=display_name, token_sha256=token_sha256(token), is_admin=is_admin)
    session.add(participant)
    session.flush()
    return participant, token


def rotate_token(session: Session, participant: Participant) -> str:
    token = new_token()
    participant.token_sha256 = token_sha256(token)
    session.flush()
    return token


def participant_by_token(session: Session, token: str) -> Participant | None:
    participant = session.scalar(select(Participant).where(Participant.token_sha256 == token_sha256(token)))
    # The lookup is by hash; the constant-time comparison keeps a timing side channel out of the check itself.
    if participant is None or not token_matches(token, participant.token_sha256):
        return None
    return participant


def participant_by_name(session: Session, display_name: str) -> Participant | None:
    return session.scalar(select(Participant).where(Participant.display_name == display_name))


def list_participants(session: Session) -> Sequence[Participant]:
    return session.scalars(select(Participant).order_by(Participant.id)).all()


# ---------------------------------------------------------------- submissions


def create_submission(
    session: Session,
    participant: Participant,
    *,
    name: str,
    code: str,
    sha256: str,
    suite: str,
    benchmarks: Sequence[str],
    seeds: Sequence[int],
    description: str = "",
    link: str | None = None,
    kind: SubmissionKind = SubmissionKind.SUBMISSION,
) -> Submission:
    """The submission and one queued run per benchmark and seed."""
    submission = Submission(
        participant=participant,
        name=name,
        description=description,
        link=link,
        code=code,
        sha256=sha256,
        suite=suite,
        kind=kind,
    )
    session.add(submission)
    session.flush()
    _add_runs(session, submission.id, itertools.product(benchmarks, seeds))
    return submission


def _add_runs(session: Session, submission_id: int, benchmark_seeds: Iterable[tuple[str, int]]) -> list[int]:
    runs = [Run(submission_id=submission_id, benchmark=b, seed=s) for b, s in benchmark_seeds]
    session.add_all(runs)
    session.flush()
    return [run.id for run in runs]


def get_submission(session: Session, submission_id: int) -> Submission | None:
    return session.get(Submission, submission_id, options=[selectinload(Submission.runs)])


def submission_for(session: Session, submission_id: int, viewer: Participant) -> Submission | None:
    """The submission if `viewer` may see it: its owner or an admin. Others are told it does not exist."""
    submission = get_submission(session, submission_id)
    if submission is None or not _owned_by(submission, viewer):
        return None
    return submission


def public_submission(session: Session, submission_id: int, viewer: Participant | None) -> Submission | None:
    """The submission if anyone may see its public parts; a hidden one only for its owner or an admin."""
    submission = session.get(
        Submission,
        submission_id,
        options=[selectinload(Submission.runs), selectinload(Submission.participant)],
    )
    if submission is None or (submission.hidden and not _owned_by(submission, viewer)):
        return None
    return submission


def _owned_by(submission: Submission, viewer: Participant | None) -> bool:
    return viewer is not None and (viewer.is_admin or submission.participant_id == viewer.id)


def submissions_in_progress(session: Session, suite: str) -> Sequence[Submission]:
    """The suite's visible queued and running submissions, oldest first, with their runs and participant."""
    return session.scalars(
        select(Submission)
        .where(
            Submission.suite == suite,
            Submission.hidden.is_(False),
            Submission.status.in_((SubmissionStatus.QUEUED, SubmissionStatus.RUNNING)),
        )
        .options(selectinload(Submission.runs), selectinload(Submission.participant))
        .order_by(Submission.id)
    ).all()


def list_submissions(
    session: Session,
    *,
    participant_id: int | None,
    offset: int = 0,
    limit: int = 100,
    status: SubmissionStatus | None = None,
) -> tuple[Sequence[Submission], int]:
    """A page of submissions, newest first, and the total count; `participant_id` None lists everyone's."""
    query = select(Submission)
    if participant_id is not None:
        query = query.where(Submission.participant_id == participant_id)
    if status is not None:
        query = query.where(Submission.status == status)
    count = session.scalar(select(func.count()).select_from(query.subquery()))
    page = session.scalars(query.order_by(Submission.id.desc()).offset(offset).limit(limit))
    return page.all(), count or 0


def find_duplicate(session: Session, participant_id: int, sha256: str, suite: str) -> Submission | None:
    """The participant's earlier submission of the same code that still stands (not cancelled, not lost)."""
    return session.scalar(
        _counted_submissions(participant_id)
        .where(Submission.sha256 == sha256, Submission.suite == suite)
        .order_by(Submission.id)
    )


def counted_submission_times(session: Session, participant_id: int, since: datetime) -> list[datetime]:
    """Creation times of the participant's submissions since `since` that count against the daily limit.

    Cancelled and infrastructure-failed submissions are free.
    """
    query = _counted_submissions(participant_id).where(Submission.created_at >= since)
    return list(
        session.scalars(query.with_only_columns(Submission.created_at).order_by(Submission.created_at))
    )


def _counted_submissions(participant_id: int):
    lost = (Submission.status == SubmissionStatus.FAILED) & (
        Submission.failure_cause == FailureCause.INFRASTRUCTURE
    )
    return select(Submission).where(
        Submission.participant_id == participant_id,
        Submission.kind == SubmissionKind.SUBMISSION,
        Submission.status != SubmissionStatus.CANCELLED,
        ~lost,
    )


def latest_submission_named(
    session: Session, participant_id: int, name: str, suite: str
) -> Submission | None:
    owned = Submission.participant_id == participant_id
    return session.scalar(
        select(Submission)
        .where(owned, Submission.name == name, Submission.suite == suite)
        .order_by(Submission.id.desc())
        .limit(1)
    )


def set_hidden(session: Session, submission: Submission, hidden: bool) -> None:
    submission.hidden = hidden
    submission.leaderboard_revision = Submission.leaderboard_revision + 1
    session.flush()


def cancel_submission(session: Session, submission: Submission) -> list[int]:
    """Cancels every active run (a running one stops at its next heartbeat); returns the ids cancelled."""
    cancelled = _cancel_active_runs(session, submission.id)
    session.expire(submission)
    return cancelled


def rerun_submission(
    session: Session, submission: Submission, benchmarks: Sequence[str] | None = None
) -> list[int]:
    """Supersedes the submission's current runs (of `benchmarks`, default all) with new queued ones.

    Active runs are cancelled first, so a worker still training one stops. The old rows stay as history.
    """
    _lock_submission(session, submission.id)
    current = [run for run in submission.runs if benchmarks is None or run.benchmark in benchmarks]
    now = utcnow()
    for run in current:
        if run.status in ACTIVE_RUN_STATUSES:
            transition_run(session, run.id, RunStatus.CANCELLED, finished_at=now)
    session.execute(update(Run).where(Run.id.in_([run.id for run in current])).values(superseded_at=now))
    run_ids = _add_runs(session, submission.id, [(run.benchmark, run.seed) for run in current])
    refresh_submission(session, submission.id)
    session.expire(submission)
    return run_ids


def _cancel_active_runs(session: Session, submission_id: int) -> list[int]:
    active = session.scalars(
        select(Run.id).where(
            Run.submission_id == submission_id,
            Run.superseded_at.is_(None),
            Run.status.in_(ACTIVE_RUN_STATUSES),
        )
    ).all()
    now = utcnow()
    return [
        run_id for run_id in active if transition_run(session, run_id, RunStatus.CANCELLED, finished_at=now)
    ]


# ---------------------------------------------------------------- status transitions


def transition_run(
    session: Session, run_id: int, target: RunStatus, *, attempt: int | None = None, **values: Any
) -> dict | None:
    """The one way a run's status changes: only from a status allowed to reach `target` (db.status), only
    while the run is current and, given `attempt`, still in that attempt; the submission's status follows.

    Returns the run's new (attempts, submission_id) as a dict, or None when the guard did not hold and nothing
    changed: a redelivered task, a cancelled run or a zombie worker then finds its write refused.
    """
    submission_id = session.scalar(select(Run.submission_id).where(Run.id == run_id))
    if submission_id is None:
        return None
    _lock_submission(session, submission_id)
    guard = [Run.id == run_id, Run.status.in_(sources_of(target)), Run.superseded_at.is_(None)]
    if attempt is not None:
        guard.append(Run.attempts == attempt)
    changed = session.execute(
        update(Run).where(*guard).values(status=target, **values).returning(Run.attempts, Run.submission_id),
    ).one_or_none()
    if changed is None:
        return None
    if target is RunStatus.FAILED:  # the submission can never be complete: its other runs would burn GPU time
        _cancel_active_runs(session, submission_id)
    refresh_submission(session, submission_id)
    return dict(changed._mapping)


def _lock_submission(session: Session, submission_id: int) -> None:
    # Serialises the status changes of one submission's runs, so two workers finishing its last two runs at
    # once cannot both read the other's run as still running. (SQLite's BEGIN IMMEDIATE serialises writers.)
    session.execute(select(Submission.id).where(Submission.id == submission_id).with_for_update())


def refresh_submission(session: Session, submission_id: int) -> None:
    """Derives the submission's status, error and timestamps from its current runs."""
    # Columns, not Run objects: a session's identity map could hand back runs loaded before this transaction.
    columns = (
        Run.status,
        Run.attempts,
        Run.failure_cause,
        Run.error,
        Run.benchmark,
        Run.started_at,
        Run.finished_at,
    )
    runs = session.execute(
        select(*columns)
        .where(Run.submission_id == submission_id, Run.superseded_at.is_(None))
        .order_by(Run.id)
    ).all()
    outcomes = [RunOutcome(run.status, run.attempts > 0, run.failure_cause) for run in runs]
    status = submission_status(outcomes)
    failed = [run for run in runs if run.status is RunStatus.FAILED]
    finished = status not in (SubmissionStatus.QUEUED, SubmissionStatus.RUNNING)
    started = [run.started_at for run in runs if run.started_at is not None]
    ended = [run.finished_at for run in runs if run.finished_at is not None]
    was_succeeded = Submission.status == SubmissionStatus.SUCCEEDED  # in SET, the row's value before the update
    goes_on_or_off_the_leaderboard = ~was_succeeded if status is SubmissionStatus.SUCCEEDED else was_succeeded
    session.execute(
        update(Submission)
        .where(Submission.id == submission_id)
        .values(
            status=status,
            leaderboard_revision=Submission.leaderboard_revision
            + case((goes_on_or_off_the_leaderboard, 1), else_=0),
            failure_cause=failure_cause(outcomes),
            error=f"{failed[0].benchmark}: {failed[0].error}" if failed else None,
            started_at=min(started, default=None),
            finished_at=max(ended, default=None) if finished else None,
        ),
    )


# ---------------------------------------------------------------- the worker's side of a run


@dataclass(frozen=True)
class ClaimedRun:
    """What a worker needs to train a run it now owns, for this attempt."""

    run_id: int
    submission_id: int
    attempt: int
    benchmark: str
    seed: int
    suite: str
    code: str
    sha256: str


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
        select(Run.benchmark, Run.seed, Submission.suite, Submission.code, Submission.sha256)
        .join(Submission, Run.submission_id == Submission.id)
        .where(Run.id == run_id)
    ).one()
    return ClaimedRun(run_id, changed["submission_id"], changed["attempts"], *run)


def record_heartbeat(session: Session, run_id: int, attempt: int) -> bool:
    """False when the run is no longer this attempt's to train (cancelled, requeued by the reaper)."""
    return _update_own_run(session, run_id, attempt, heartbeat_at=utcnow())


def record_progress(
    session: Session, run_id: int, attempt: int, curve: list[dict], epochs_total: int
) -> bool:
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


def complete_run(session: Session, run_id: int, attempt: int, result: dict, log_tail: str) -> bool:
    """running -> succeeded with the harness's RunResult.to_dict(); False if the attempt lost the run."""
    changed = transition_run(
        session,
        run_id,
        RunStatus.SUCCEEDED,
        attempt=attempt,
        metrics=result["metrics"],
        curve=result["curve"],
        environment=result["environment"],
        result=result,
        harness_version=result["harness_version"],
        epochs_done=len(result["curve"]),
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


def undispatched_runs(session: Session, dispatched_before: datetime | None = None) -> list[int]:
    """Queued runs whose message was never sent or, given `dispatched_before`, was sent before it."""
    sent_long_ago = Run.dispatched_at.is_(None)
    if dispatched_before is not None:
        sent_long_ago = sent_long_ago | (Run.dispatched_at < dispatched_before)
    query = select(Run.id).where(Run.status == RunStatus.QUEUED, Run.superseded_at.is_(None), sent_long_ago)
    return list(session.scalars(query.order_by(Run.queued_at, Run.id)))


def mark_dispatched(session: Session, run_ids: Sequence[int]) -> None:
    session.execute(update(Run).where(Run.id.in_(run_ids)).values(dispatched_at=utcnow()))


# ---------------------------------------------------------------- queue and leaderboard


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


def leaderboard(
    session: Session, suite: str, benchmarks: Sequence[str], harness_version: str
) -> list[LeaderboardEntry]:
    """Visible submissions whose current runs all succeeded on every benchmark under `harness_version`.

    Older results (superseded runs, other harness versions) stay in the table as history, left out here.
    """
    # Plain columns, each metric read out of the JSON by the database: no ORM objects and no JSON decoding here,
    # a third of the time of loading whole rows (docs/reliability.md, "Load").
    metrics = [Run.metrics[name].as_float().label(name) for name in METRIC_NAMES]
    rows = session.execute(
        select(
            Submission.id,
            Submission.name,
            Submission.kind,
            Submission.created_at,
            Submission.link,
            Participant.display_name,
            Run.benchmark,
            *metrics,
        )
        .join(Participant, Submission.participant_id == Participant.id)
        .join(Run, Run.submission_id == Submission.id)
        .where(
            Submission.suite == suite,
            Submission.status == SubmissionStatus.SUCCEEDED,
            Submission.hidden.is_(False),
            Run.superseded_at.is_(None),
            Run.status == RunStatus.SUCCEEDED,
            Run.harness_version == harness_version,
        )
    ).all()
    metric_rows = [
        MetricRow(
            ShownSubmission(submission_id, name, kind, created_at, link),
            participant,
            benchmark,
            {metric: value for metric, value in zip(METRIC_NAMES, values, strict=True) if value is not None},
        )
        for submission_id, name, kind, created_at, link, participant, benchmark, *values in rows
    ]
    return rank_entries(metric_rows, benchmarks)


def leaderboard_marker(session: Session, suite: str) -> int:
    """Moves whenever a submission of the suite goes on or off the leaderboard, and only then.

    The sum of the suite's `leaderboard_revision`s: each change adds one to a row, so the sum grows with every
    committed change whatever the order of the commits (a latest timestamp would miss an earlier-stamped commit
    that lands later).
    """
    return session.scalar(
        select(func.coalesce(func.sum(Submission.leaderboard_revision), 0)).where(Submission.suite == suite)
    )


# ---------------------------------------------------------------- export


def every_submission_with_runs(session: Session) -> Sequence[tuple[Submission, Sequence[Run]]]:
    """Every submission, oldest first, with its participant and all its runs, superseded ones included."""
    submissions = session.scalars(
        select(Submission).options(selectinload(Submission.participant)).order_by(Submission.id)
    ).all()
    runs: dict[int, list[Run]] = {submission.id: [] for submission in submissions}
    for run in session.scalars(select(Run).order_by(Run.submission_id, Run.id)):
        if run.submission_id in runs:  # not a submission stored since the first query
            runs[run.submission_id].append(run)
    return [(submission, runs[submission.id]) for submission in submissions]
