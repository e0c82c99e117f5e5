"""The one way a run's status changes (`transition_run`), and the submission status that follows from its runs."""

from datetime import datetime
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from db.models import Run, RunStatus, Submission, SubmissionStatus, utcnow
from db.status import ACTIVE_RUN_STATUSES, RunOutcome, failure_cause, sources_of, submission_status


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
    lock_submission(session, submission_id)
    guard = [Run.id == run_id, Run.status.in_(sources_of(target)), Run.superseded_at.is_(None)]
    if attempt is not None:
        guard.append(Run.attempts == attempt)
    changed = session.execute(
        update(Run)
        .where(*guard)
        .values(status=target, **values)
        .returning(Run.attempts, Run.submission_id, Run.pending_replacement),
    ).one_or_none()
    if changed is None:
        return None
    if changed.pending_replacement:  # a rerun's run: the current results stand until the rerun settles
        settle_rerun(session, submission_id)
    elif target is RunStatus.FAILED:  # the submission can never be complete: its other runs would burn GPU time
        cancel_active_runs(session, submission_id)
    if target is RunStatus.SUCCEEDED:  # a new result: a trial may be complete, and the board shows it
        mark_board_changed(session, submission_id)
    refresh_submission(session, submission_id)
    return {"attempts": changed.attempts, "submission_id": changed.submission_id}


def settle_rerun(session: Session, submission_id: int) -> None:
    """Once every run of the submission's rerun succeeded, they replace the runs of their benchmarks in one step;
    once one failed or was cancelled, the rerun is abandoned and the current results stay, with the reason."""
    pending = session.execute(
        select(Run.benchmark, Run.trial, Run.status, Run.error)
        .where(*_pending_replacements(submission_id))
        .order_by(Run.id)
    ).all()
    lost = [run for run in pending if run.status in (RunStatus.FAILED, RunStatus.CANCELLED)]
    now = utcnow()
    if lost:
        reason = f"{lost[0].benchmark} trial {lost[0].trial} {lost[0].status}: {lost[0].error or 'no error recorded'}"
        drop_pending_replacements(session, submission_id, now)
        session.execute(
            update(Submission)
            .where(Submission.id == submission_id)
            .values(rerun_error=f"the rerun did not complete, so the results before it stay: {reason}")
        )
    elif pending and all(run.status is RunStatus.SUCCEEDED for run in pending):
        replaced = {run.benchmark for run in pending}
        session.execute(
            update(Run)
            .where(
                Run.submission_id == submission_id,
                Run.superseded_at.is_(None),
                Run.pending_replacement.is_(False),
                Run.benchmark.in_(replaced),
            )
            .values(superseded_at=now)
        )
        session.execute(update(Run).where(*_pending_replacements(submission_id)).values(pending_replacement=False))
    else:
        return
    mark_board_changed(session, submission_id)


def drop_pending_replacements(session: Session, submission_id: int, now: datetime) -> None:
    """The rerun's runs become history: the queued and running ones cancelled (guarded as `transition_run` guards:
    only from a status that may be cancelled), then all of them superseded. The submission's status, which follows
    only its current runs, does not change."""
    session.execute(
        update(Run)
        .where(*_pending_replacements(submission_id), Run.status.in_(sources_of(RunStatus.CANCELLED)))
        .values(status=RunStatus.CANCELLED, finished_at=now)
    )
    session.execute(update(Run).where(*_pending_replacements(submission_id)).values(superseded_at=now))


def _pending_replacements(submission_id: int) -> tuple:
    return (Run.submission_id == submission_id, Run.pending_replacement.is_(True), Run.superseded_at.is_(None))


def mark_board_changed(session: Session, submission_id: int) -> None:
    """Moves the suite's leaderboard marker (queries.leaderboard.leaderboard_marker): its cache computes again."""
    session.execute(
        update(Submission)
        .where(Submission.id == submission_id)
        .values(leaderboard_revision=Submission.leaderboard_revision + 1)
    )


def cancel_active_runs(session: Session, submission_id: int) -> list[int]:
    active = session.scalars(
        select(Run.id).where(
            Run.submission_id == submission_id,
            Run.superseded_at.is_(None),
            Run.status.in_(ACTIVE_RUN_STATUSES),
        )
    ).all()
    now = utcnow()
    return [run_id for run_id in active if transition_run(session, run_id, RunStatus.CANCELLED, finished_at=now)]


def lock_submission(session: Session, submission_id: int) -> None:
    # Serialises the status changes of one submission's runs, so two workers finishing its last two runs at
    # once cannot both read the other's run as still running. (SQLite's BEGIN IMMEDIATE serialises writers.)
    session.execute(select(Submission.id).where(Submission.id == submission_id).with_for_update())


def refresh_submission(session: Session, submission_id: int) -> None:
    """Derives the submission's status, error and timestamps from its current runs (a rerun's runs count only once
    they replaced them)."""
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
        .join(Submission, Run.submission_id == Submission.id)
        .where(
            Run.submission_id == submission_id,
            Run.superseded_at.is_(None),
            Run.pending_replacement.is_(False),
            Run.trial <= Submission.trials_planned,  # an extra trial never changes the status (add_extra_trial)
        )
        .order_by(Run.id)
    ).all()
    outcomes = [RunOutcome(run.status, run.attempts > 0, run.failure_cause) for run in runs]
    status = submission_status(outcomes)
    failed = [run for run in runs if run.status is RunStatus.FAILED]
    finished = status not in (SubmissionStatus.QUEUED, SubmissionStatus.RUNNING)
    started = [run.started_at for run in runs if run.started_at is not None]
    ended = [run.finished_at for run in runs if run.finished_at is not None]
    # In SET, the row's value before the update. Any change of status may take it on or off the board (a failed
    # or cancelled submission leaves it; one with a complete trial is on it from queued to succeeded).
    status_changes = Submission.status != status
    session.execute(
        update(Submission)
        .where(Submission.id == submission_id)
        .values(
            status=status,
            leaderboard_revision=Submission.leaderboard_revision + case((status_changes, 1), else_=0),
            failure_cause=failure_cause(outcomes),
            error=f"{failed[0].benchmark}: {failed[0].error}" if failed else None,
            started_at=min(started, default=None),
            finished_at=max(ended, default=None) if finished else None,
        ),
    )
