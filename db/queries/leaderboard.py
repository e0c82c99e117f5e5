"""The rows a board is ranked from, read from the runs table (harness.board_rows, plain data: scoring groups and
ranks them), and the marker that says when they changed."""

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Boolean, exists, func, select, type_coerce
from sqlalchemy.orm import Session, aliased

from db.models import Participant, Run, RunStatus, Submission, SubmissionKind, SubmissionStatus
from harness.board_rows import ShownSubmission, TrialRow
from harness.result import METRIC_NAMES

# A submission is on the board from its first complete trial until it fails or is cancelled.
ON_THE_BOARD = (SubmissionStatus.QUEUED, SubmissionStatus.RUNNING, SubmissionStatus.SUCCEEDED)


def board_rows(session: Session, suite: str, harness_version: str) -> list[TrialRow]:
    """What the suite's board is ranked from (scoring.leaderboard.group_by_submission, then rank_entries): every
    visible submission on it with its succeeded current runs under `harness_version`, each transfer run with the
    flip design it was trained under (scoring keeps older designs' apart).

    Older results (superseded runs, other harness versions) stay in the table as history, left out here; a rerun's
    runs count only once they replaced the current ones.
    """
    on_board = (
        Submission.suite == suite,
        Submission.status.in_(ON_THE_BOARD),
        Submission.hidden.is_(False),
    )
    return _trial_rows(session, harness_version, on_board)


def submission_rows(
    session: Session, suite: str, submission_ids: Collection[int], harness_version: str
) -> list[TrialRow]:
    """The given submissions' succeeded current runs under `harness_version`, whatever their status or visibility
    (the caller decides who may see them). A submission without a succeeded run has no row."""
    return _trial_rows(session, harness_version, (Submission.suite == suite, Submission.id.in_(submission_ids)))


def _trial_rows(session: Session, harness_version: str, submissions: Sequence) -> list[TrialRow]:
    # Plain columns, each metric read out of the JSON by the database: no ORM objects and no JSON decoding here,
    # a third of the time of loading whole rows (docs/reliability.md, "Load").
    shown = _shown_columns()
    metrics = [Run.metrics[name].as_float() for name in METRIC_NAMES]
    rows = session.execute(
        select(*shown.values(), Run.benchmark, Run.trial, Run.legacy_seed, Run.flip_design, *metrics)
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
    by_id: dict[int, ShownSubmission] = {}
    trial_rows = []
    for row in rows:
        submission_id, (benchmark, trial, legacy_seed, flip_design, *values) = row[0], row[len(shown) :]
        if submission_id not in by_id:
            by_id[submission_id] = ShownSubmission(**dict(zip(shown, row[: len(shown)], strict=True)))
        present = {metric: value for metric, value in zip(METRIC_NAMES, values, strict=True) if value is not None}
        trial_rows.append(TrialRow(by_id[submission_id], benchmark, trial, legacy_seed, present, flip_design))
    return trial_rows


def _shown_columns() -> dict[str, Any]:
    """ShownSubmission's fields, each as the column or expression that fills it (the submission's id first)."""
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
    return {
        "id": Submission.id,
        "name": Submission.name,
        "kind": Submission.kind,
        "created_at": Submission.created_at,
        "reference": type_coerce(Submission.kind != SubmissionKind.SUBMISSION, Boolean),
        "description": Submission.description,
        "link": Submission.link,
        "participant": Participant.display_name,
        "rerunning": type_coerce(rerunning, Boolean),
        "rerun_failed": type_coerce(Submission.rerun_error.is_not(None), Boolean),
        "recorded": type_coerce(recorded, Boolean),
    }


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
