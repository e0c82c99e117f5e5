"""Submissions: storing one with its runs, who may see it, the daily limit, hiding, cancelling, rerunning, export."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session, selectinload

from db.models import FailureCause, Participant, Run, RunStatus, Submission, SubmissionKind, SubmissionStatus, utcnow
from db.queries.runs import result_columns
from db.queries.transitions import (
    cancel_active_runs,
    drop_pending_replacements,
    lock_submission,
    mark_board_changed,
    refresh_submission,
    transition_run,
)
from db.status import ACTIVE_RUN_STATUSES
from harness.plan import SuitePlan, Trial


def create_submission(
    session: Session,
    participant: Participant,
    *,
    plan: SuitePlan,
    name: str,
    code: str,
    sha256: str,
    description: str = "",
    link: str | None = None,
    kind: SubmissionKind = SubmissionKind.SUBMISSION,
    filename: str | None = None,
) -> Submission:
    """The submission to the plan's suite and one queued run per trial and benchmark of the plan, the transfer
    track's included."""
    submission = Submission(
        participant=participant,
        name=name,
        description=description,
        link=link,
        code=code,
        sha256=sha256,
        suite=plan.suite,
        kind=kind,
        filename=filename,
        trials_planned=len(plan.trials),
    )
    session.add(submission)
    session.flush()
    _add_runs(session, _new_runs(submission.id, plan.benchmarks, plan.trials, plan.transfer_benchmarks))
    return submission


def create_recorded_submission(
    session: Session,
    participant: Participant,
    *,
    plan: SuitePlan,
    name: str,
    code: str,
    sha256: str,
    description: str,
    kind: SubmissionKind,
    filename: str,
    results: Sequence[tuple[int, dict, int | None]],
    to_train: Sequence[tuple[str, Trial]],
) -> list[int]:
    """A submission to the plan's suite whose runs succeeded elsewhere: one run per (trial, RunResult dict, flip
    design it was trained under, None on the announced flip), marked recorded, and a queued transfer run per
    (benchmark, trial) of `to_train`; returns the queued runs' ids.

    Each result must match harness.result's schema (ResultSchemaError otherwise, and nothing is stored).
    """
    columns = [
        (trial, result, flip_design, result_columns(result)) for trial, result, flip_design in results
    ]  # all checked before a write
    submission = Submission(
        participant=participant,
        name=name,
        description=description,
        code=code,
        sha256=sha256,
        suite=plan.suite,
        kind=kind,
        filename=filename,
        trials_planned=len(plan.trials),
    )
    session.add(submission)
    session.flush()
    now = utcnow()
    _add_runs(
        session,
        [
            Run(
                submission_id=submission.id,
                benchmark=result["benchmark"]["name"],
                trial=trial,
                seed=result["seed"],
                recorded=True,
                transfer=result["benchmark"]["name"] in plan.transfer_benchmarks,
                flip_design=flip_design,
                status=RunStatus.SUCCEEDED,
                **filled,
                epochs_total=len(result["curve"]),
                started_at=now,
                finished_at=now,
            )
            for trial, result, flip_design, filled in columns
        ],
    )
    queued = _add_runs(
        session, [run for benchmark, trial in to_train for run in _new_runs(submission.id, [], [trial], [benchmark])]
    )
    mark_board_changed(session, submission.id)
    refresh_submission(session, submission.id)
    session.expire(submission)
    return queued


def next_recorded_service_entry(session: Session, suites: Sequence[str]) -> Submission | None:
    """The oldest visible, succeeded baseline or published method of `suites` whose current results were recorded
    on another machine, with no rerun under way and none failed: the next to be trained here instead."""
    recorded = select(Run.id).where(
        Run.submission_id == Submission.id,
        Run.recorded.is_(True),
        Run.superseded_at.is_(None),
        Run.pending_replacement.is_(False),
    )
    rerun_pending = select(Run.id).where(
        Run.submission_id == Submission.id, Run.pending_replacement.is_(True), Run.superseded_at.is_(None)
    )
    query = select(Submission).where(
        Submission.suite.in_(suites),
        Submission.kind.in_((SubmissionKind.BASELINE, SubmissionKind.PUBLISHED)),
        Submission.status == SubmissionStatus.SUCCEEDED,
        Submission.hidden.is_(False),
        Submission.rerun_error.is_(None),  # a failed replacement is an admin's to look at, not retried in a loop
        exists(recorded),
        ~exists(rerun_pending),
    )
    return session.scalar(query.order_by(Submission.id).limit(1))


def add_extra_trial(session: Session, submission_id: int, plan: SuitePlan) -> list[int]:
    """Queues the submission's next trial beyond its planned ones on the plan's announced benchmarks (the headline's
    only), when that trial is among the plan's most_trials; returns the new runs' ids (none past most_trials).

    Extra runs wait behind every other run (queries.queue_position.fair_order) and never change the submission's
    status: it stays succeeded whatever they do (queries.transitions.refresh_submission)."""
    lock_submission(session, submission_id)
    last = session.scalar(
        select(func.max(Run.trial)).where(Run.submission_id == submission_id, Run.superseded_at.is_(None))
    )
    trials = plan.trials + plan.extra_trials
    if last is None or last >= len(trials):
        return []
    return _add_runs(session, _new_runs(submission_id, plan.benchmarks, [trials[last]], ()))


def _new_runs(
    submission_id: int,
    benchmarks: Sequence[str],
    trials: Sequence[Trial],
    transfer_benchmarks: Sequence[str],
    **columns,
) -> list[Run]:
    # Trial-major: the order the runs were queued in is trial 1 on every benchmark first; the transfer track after.
    return [
        Run(
            submission_id=submission_id,
            benchmark=b,
            trial=t.index,
            seed=t.seeds.training_seed,
            transfer=transfer,
            **columns,
        )
        for names, transfer in ((benchmarks, False), (transfer_benchmarks, True))
        for t in trials
        for b in names
    ]


def _add_runs(session: Session, runs: list[Run]) -> list[int]:
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
    return list(session.scalars(query.with_only_columns(Submission.created_at).order_by(Submission.created_at)))


def _counted_submissions(participant_id: int):
    lost = (Submission.status == SubmissionStatus.FAILED) & (Submission.failure_cause == FailureCause.INFRASTRUCTURE)
    return select(Submission).where(
        Submission.participant_id == participant_id,
        Submission.kind == SubmissionKind.SUBMISSION,
        Submission.status != SubmissionStatus.CANCELLED,
        ~lost,
    )


def latest_submission_named(session: Session, participant_id: int, name: str, suite: str) -> Submission | None:
    owned = Submission.participant_id == participant_id
    return session.scalar(
        select(Submission)
        .where(owned, Submission.name == name, Submission.suite == suite)
        .order_by(Submission.id.desc())
        .limit(1)
    )


def suites_submitted_to(session: Session, participant_id: int) -> list[str]:
    """The suites a participant has submitted to: for the service's own participant, the suites it serves."""
    owned = Submission.participant_id == participant_id
    return list(session.scalars(select(Submission.suite).where(owned).distinct().order_by(Submission.suite)))


def set_hidden(session: Session, submission: Submission, hidden: bool) -> None:
    submission.hidden = hidden
    submission.leaderboard_revision = Submission.leaderboard_revision + 1
    session.flush()


def cancel_submission(session: Session, submission: Submission) -> list[int]:
    """Cancels every active run (a running one stops at its next heartbeat); returns the ids cancelled."""
    cancelled = cancel_active_runs(session, submission.id)
    session.expire(submission)
    return cancelled


def rerun_submission(
    session: Session, submission: Submission, plan: SuitePlan, benchmarks: Sequence[str] | None = None
) -> list[int]:
    """Queues the plan's trials again on `benchmarks` (default: all of the submission's); returns the new runs' ids.

    A whole rerun (no `benchmarks`) also queues the plan's transfer track where the submission has no run of it:
    one stored before the track existed gets it then.

    A succeeded submission keeps its results on the board, marked as being rerun, until every new run succeeded;
    then they replace the runs of those benchmarks in one step (queries.transitions.settle_rerun). A failed or
    cancelled new run leaves the old results in place and records why in `rerun_error`. A rerun under way is
    replaced by this one. Any other submission has no results to keep: its runs are superseded at once (active ones
    cancelled first, so a worker still training one stops). Old rows always stay as history.
    """
    if plan.suite != submission.suite:
        raise ValueError(f"a plan of the {plan.suite} suite for submission {submission.id} of {submission.suite}")
    lock_submission(session, submission.id)
    now = utcnow()
    chosen = [run for run in submission.runs if benchmarks is None or run.benchmark in benchmarks]
    rerun = sorted({run.benchmark for run in chosen if not run.transfer})
    added_transfer = set(plan.transfer_benchmarks) if benchmarks is None else set()
    rerun_transfer = sorted({run.benchmark for run in chosen if run.transfer} | added_transfer)
    keeps_results = submission.status is SubmissionStatus.SUCCEEDED
    if keeps_results:
        drop_pending_replacements(session, submission.id, now)
    else:
        current = [run for run in submission.runs if run.benchmark in (*rerun, *rerun_transfer)]
        for run in current:
            if run.status in ACTIVE_RUN_STATUSES:
                transition_run(session, run.id, RunStatus.CANCELLED, finished_at=now)
        session.execute(update(Run).where(Run.id.in_([run.id for run in current])).values(superseded_at=now))
    new_runs = _new_runs(submission.id, rerun, plan.trials, rerun_transfer, pending_replacement=keeps_results)
    run_ids = _add_runs(session, new_runs)
    # the rerun's trials are the plan's: a submission claims the trial count it runs now, and trials past it are
    # extra ones (queries.queue_position.background_last)
    values = {"rerun_error": None, "trials_planned": len(plan.trials)}
    session.execute(update(Submission).where(Submission.id == submission.id).values(**values))
    mark_board_changed(session, submission.id)  # it shows as being rerun
    refresh_submission(session, submission.id)
    session.expire(submission)
    return run_ids


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
