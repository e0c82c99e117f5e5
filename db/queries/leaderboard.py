"""The leaderboard's rows read from the runs table, and the marker that says when they changed."""

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.leaderboard import LeaderboardEntry, MetricRow, ShownSubmission, rank_entries
from db.models import Participant, Run, RunStatus, Submission, SubmissionStatus
from harness.result import METRIC_NAMES


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
