"""The published baselines and the re-implementations of the best published methods as service submissions: queued
on first start, rerun by the admin command."""

from collections.abc import Sequence

from sqlalchemy.orm import Session

from db import queries
from db.models import Participant, SubmissionKind
from harness.loss_file import sha256_of
from harness.losses import BASELINES, loss_path
from harness.plan import SuitePlan

SERVICE_PARTICIPANT = "PoisonBench"  # owns the baselines; its token is never shown, so nobody signs in as it

# The two best published methods, re-implemented from their descriptions (harness/losses/<name>.py).
PUBLISHED_METHODS = ("inverse_flip_correction", "truncated_gce_ce")

# Every loss the service queues itself, with its kind and the description the leaderboard shows.
SERVICE_LOSSES = {
    **{name: (SubmissionKind.BASELINE, "published baseline (docs/published-results.md)") for name in BASELINES},
    **{
        name: (SubmissionKind.PUBLISHED, "re-implementation of a published method (docs/published-methods.md)")
        for name in PUBLISHED_METHODS
    },
}


def queue_baselines(session: Session, plan: SuitePlan, benchmarks: Sequence[str] | None = None) -> list[int]:
    """Queues every service loss's plan on `benchmarks` (default: the whole plan); returns the new runs' ids.

    A loss whose file is unchanged is rerun (queries.submissions.rerun_submission: its results stay on the board
    until the rerun's have all succeeded). A changed file becomes a new submission on every benchmark, and the old
    one is hidden from the leaderboard.
    """
    owner = service_participant(session)
    run_ids: list[int] = []
    for name, (kind, description) in SERVICE_LOSSES.items():
        code = loss_path(name).read_text()
        existing = queries.submissions.latest_submission_named(session, owner.id, name, plan.suite)
        if existing is not None and existing.sha256 == sha256_of(code):
            run_ids += queries.submissions.rerun_submission(session, existing, plan, benchmarks)
            continue
        if existing is not None:
            queries.submissions.set_hidden(session, existing, True)
        submission = queries.submissions.create_submission(
            session,
            owner,
            plan=plan,
            name=name,
            description=description,
            code=code,
            sha256=sha256_of(code),
            kind=kind,
            filename=loss_path(name).name,
        )
        run_ids += [run.id for run in submission.runs]
    return run_ids


def missing_baselines(session: Session, suite: str) -> list[str]:
    owner = queries.participants.participant_by_name(session, SERVICE_PARTICIPANT)
    if owner is None:
        return list(SERVICE_LOSSES)
    latest = queries.submissions.latest_submission_named
    return [name for name in SERVICE_LOSSES if latest(session, owner.id, name, suite) is None]


def baseline_suites(session: Session) -> list[str]:
    """The suites whose baselines have been queued: `poisonbench serve` queues them on its suite at first start."""
    owner = queries.participants.participant_by_name(session, SERVICE_PARTICIPANT)
    return [] if owner is None else queries.submissions.suites_submitted_to(session, owner.id)


def service_participant(session: Session) -> Participant:
    owner = queries.participants.participant_by_name(session, SERVICE_PARTICIPANT)
    return owner or queries.participants.create_participant(session, SERVICE_PARTICIPANT)[0]
