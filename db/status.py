"""The status machine: which run transitions are allowed, and how a submission's status follows its runs."""

from collections.abc import Iterable
from dataclasses import dataclass

from db.models import FailureCause, RunStatus, SubmissionStatus

# Terminal statuses have no way out: a rerun supersedes the run with a new row instead.
RUN_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.QUEUED: frozenset({RunStatus.RUNNING, RunStatus.CANCELLED}),
    # -> QUEUED: an infrastructure failure or a stale heartbeat, with attempts left.
    RunStatus.RUNNING: frozenset(
        {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.QUEUED, RunStatus.CANCELLED}
    ),
    RunStatus.SUCCEEDED: frozenset(),
    RunStatus.FAILED: frozenset(),
    RunStatus.CANCELLED: frozenset(),
}

ACTIVE_RUN_STATUSES = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})


def sources_of(target: RunStatus) -> list[RunStatus]:
    """The statuses from which a run may move to `target`."""
    return [source for source, targets in RUN_TRANSITIONS.items() if target in targets]


@dataclass(frozen=True)
class RunOutcome:
    """What a submission's status depends on, for one of its current runs."""

    status: RunStatus
    started: bool  # attempted at least once
    failure_cause: FailureCause | None = None


def submission_status(runs: Iterable[RunOutcome]) -> SubmissionStatus:
    """Queued until a run starts, running while any is active, then failed, succeeded or cancelled."""
    runs = list(runs)
    statuses = {run.status for run in runs}
    if statuses & ACTIVE_RUN_STATUSES:
        started = any(run.started for run in runs)
        return SubmissionStatus.RUNNING if started else SubmissionStatus.QUEUED
    if RunStatus.FAILED in statuses:
        return SubmissionStatus.FAILED
    if statuses == {RunStatus.SUCCEEDED}:
        return SubmissionStatus.SUCCEEDED
    return SubmissionStatus.CANCELLED


def failure_cause(runs: Iterable[RunOutcome]) -> FailureCause | None:
    """The loss's fault if any run failed by it; the infrastructure's if only infrastructure failed."""
    causes = {run.failure_cause for run in runs if run.status is RunStatus.FAILED}
    if FailureCause.LOSS in causes:
        return FailureCause.LOSS
    return FailureCause.INFRASTRUCTURE if causes else None
