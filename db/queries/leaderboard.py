"""The leaderboard's rows read from the runs table, each submission's per-trial scores, and the marker that says
when they changed."""

from collections.abc import Collection, Sequence

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from db.models import Participant, Run, RunStatus, Submission, SubmissionKind, SubmissionStatus
from harness.result import METRIC_NAMES
from scoring.leaderboard import ShownSubmission, TrialRow, TrialScores, group_by_submission, trial_key

# A submission is on the board from its first complete trial until it fails or is cancelled.
ON_THE_BOARD = (SubmissionStatus.QUEUED, SubmissionStatus.RUNNING, SubmissionStatus.SUCCEEDED)


def board_scores(session: Session, suite: str, harness_version: str) -> dict[int, TrialScores]:
    """What the suite's board is ranked from (scoring.leaderboard.rank_entries): every visible submission on it
    with its succeeded current runs under `harness_version`, by benchmark, metric and trial.

    Older results (superseded runs, other harness versions) stay in the table as history, left out here; a rerun's
    runs count only once they replaced the current ones.
    """
    on_board = (
        Submission.suite == suite,
        Submission.status.in_(ON_THE_BOARD),
        Submission.hidden.is_(False),
    )
    return group_by_submission(_trial_rows(session, harness_version, on_board))


def trial_scores(
    session: Session, suite: str, submission_ids: Collection[int], harness_version: str
) -> dict[int, TrialScores]:
    """The given submissions' succeeded current runs under `harness_version`, whatever their status or visibility
    (the caller decides who may see them): submission id -> its scores by benchmark, metric and trial. A submission
    without a succeeded run is absent."""
    return group_by_submission(
        _trial_rows(session, harness_version, (Submission.suite == suite, Submission.id.in_(submission_ids)))
    )


def _trial_rows(session: Session, harness_version: str, submissions: Sequence) -> list[TrialRow]:
    # Plain columns, each metric read out of the JSON by the database: no ORM objects and no JSON decoding here,
    # a third of the time of loading whole rows (docs/reliability.md, "Load").
    metrics = [Run.metrics[name].as_float().label(name) for name in METRIC_NAMES]
    replacement = aliased(Run)
    rerunning = exists().where(
        replacement.submission_id == Submission.id,
        replacement.pending_replacement.is_(True),
        replacement.superseded_at.is_(None),
    )
    shipped = aliased(Run)
    recorded = exists().where(
        shipped.submission_id == Submission.id,
        shipped.recorded.is_(True),
        shipped.pending_replacement.is_(False),
        shipped.superseded_at.is_(None),
    )
    rows = session.execute(
        select(
            Submission.id,
            Submission.name,
            Submission.kind,
            Submission.created_at,
            Submission.description,
            Submission.link,
            Participant.display_name,
            rerunning.label("rerunning"),
            Submission.rerun_error.is_not(None).label("rerun_failed"),
            recorded.label("recorded"),
            Run.benchmark,
            Run.trial,
            Run.legacy_seed,
            *metrics,
        )
        .join(Participant, Submission.participant_id == Participant.id)
        .join(Run, Run.submission_id == Submission.id)
        .where(
            *submissions,
            Run.superseded_at.is_(None),
            Run.pending_replacement.is_(False),
            Run.status == RunStatus.SUCCEEDED,
            Run.harness_version == harness_version,
        )
    ).all()
    shown: dict[int, ShownSubmission] = {}
    trial_rows = []
    for (
        sid,
        name,
        kind,
        created_at,
        description,
        link,
        participant,
        rerun,
        failed,
        shipped_results,
        benchmark,
        trial,
        legacy,
        *values,
    ) in rows:
        if sid not in shown:
            shown[sid] = ShownSubmission(
                sid,
                name,
                kind,
                created_at,
                kind != SubmissionKind.SUBMISSION,
                description,
                link,
                participant,
                rerun,
                failed,
                shipped_results,
            )
        present = {metric: value for metric, value in zip(METRIC_NAMES, values, strict=True) if value is not None}
        trial_rows.append(TrialRow(shown[sid], benchmark, trial_key(trial, legacy), present))
    return trial_rows


def leaderboard_marker(session: Session, suite: str) -> int:
    """Moves whenever the suite's board may have changed: a run succeeded, a submission went on or off it, a rerun
    started, replaced its results or failed.

    The sum of the suite's `leaderboard_revision`s: each change adds one to a row, so the sum grows with every
    committed change whatever the order of the commits (a latest timestamp would miss an earlier-stamped commit
    that lands later).
    """
    return session.scalar(
        select(func.coalesce(func.sum(Submission.leaderboard_revision), 0)).where(Submission.suite == suite)
    )
