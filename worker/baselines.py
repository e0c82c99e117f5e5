"""The published baselines and our reference loss as service submissions: queued on first start, rerun by the admin
command."""

from collections.abc import Sequence

from sqlalchemy.orm import Session

from db import queries
from db.models import Participant, SubmissionKind
from harness.loss_file import sha256_of
from harness.losses import BASELINES, REFERENCE, loss_path
from harness.registry import benchmark_names

SERVICE_PARTICIPANT = "PoisonBench"  # owns the baselines; its token is never shown, so nobody signs in as it

# Every loss the service queues itself, with its kind and the description the leaderboard shows.
SERVICE_LOSSES = {
    **{name: (SubmissionKind.BASELINE, "published baseline (BENCHMARK.md)") for name in BASELINES},
    REFERENCE: (SubmissionKind.REFERENCE, "PoisonBench's reference loss, the bar to beat (docs/reference-loss.md)"),
}


def queue_baselines(
    session: Session, suite: str, seeds: Sequence[int], benchmarks: Sequence[str] | None = None
) -> list[int]:
    """Queues every baseline and the reference on `benchmarks` (default: the suite's); returns the new runs' ids.

    A baseline whose file is unchanged is rerun, its previous runs kept as history. A changed file becomes a
    new submission on every benchmark, and the old one is hidden from the leaderboard.
    """
    owner = _service_participant(session)
    run_ids: list[int] = []
    for name, (kind, description) in SERVICE_LOSSES.items():
        code = loss_path(name).read_text()
        existing = queries.submissions.latest_submission_named(session, owner.id, name, suite)
        if existing is not None and existing.sha256 == sha256_of(code):
            run_ids += queries.submissions.rerun_submission(session, existing, benchmarks)
            continue
        if existing is not None:
            queries.submissions.set_hidden(session, existing, True)
        submission = queries.submissions.create_submission(
            session,
            owner,
            name=name,
            description=description,
            code=code,
            sha256=sha256_of(code),
            suite=suite,
            benchmarks=benchmark_names(suite),
            seeds=seeds,
            kind=kind,
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


def _service_participant(session: Session) -> Participant:
    owner = queries.participants.participant_by_name(session, SERVICE_PARTICIPANT)
    return owner or queries.participants.create_participant(session, SERVICE_PARTICIPANT)[0]
