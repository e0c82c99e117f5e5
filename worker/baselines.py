"""The published baselines as service submissions: queued on first start, rerun by the admin command."""

from collections.abc import Sequence

from sqlalchemy.orm import Session

from db import queries
from db.models import Participant, SubmissionKind
from harness.loss_file import sha256_of
from harness.losses import BASELINES, loss_path
from harness.registry import benchmark_names

SERVICE_PARTICIPANT = "PoisonBench"  # owns the baselines; its token is never shown, so nobody signs in as it

# Every loss the service queues itself, with its kind and the description the leaderboard shows.
SERVICE_LOSSES = {
    name: (SubmissionKind.BASELINE, "published baseline (docs/published-results.md)") for name in BASELINES
}


def queue_baselines(
    session: Session, suite: str, seeds: Sequence[int], benchmarks: Sequence[str] | None = None
) -> list[int]:
    """Queues every baseline on `benchmarks` (default: the suite's); returns the new runs' ids.

    A baseline whose file is unchanged is rerun, its previous runs kept as history. A changed file becomes a
    new submission on every benchmark, and the old one is hidden from the leaderboard.
    """
    owner = _service_participant(session)
    run_ids: list[int] = []
    for name, (kind, description) in SERVICE_LOSSES.items():
        code = loss_path(name).read_text()
        existing = queries.latest_submission_named(session, owner.id, name, suite)
        if existing is not None and existing.sha256 == sha256_of(code):
            run_ids += queries.rerun_submission(session, existing, benchmarks)
            continue
        if existing is not None:
            queries.set_hidden(session, existing, True)
        submission = queries.create_submission(
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
    owner = queries.participant_by_name(session, SERVICE_PARTICIPANT)
    if owner is None:
        return list(SERVICE_LOSSES)
    return [n for n in SERVICE_LOSSES if queries.latest_submission_named(session, owner.id, n, suite) is None]


def _service_participant(session: Session) -> Participant:
    owner = queries.participant_by_name(session, SERVICE_PARTICIPANT)
    return owner or queries.create_participant(session, SERVICE_PARTICIPANT)[0]
