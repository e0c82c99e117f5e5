"""When recorded results still stand for what the service would train now: the same harness version, trials, loss
files and benchmark definitions, run for run. The first start installs only records that stand, and a recording
resumes only from runs that do."""

import json
from collections.abc import Sequence
from pathlib import Path

from harness import HARNESS_VERSION
from harness.loss_file import sha256_of
from harness.losses import loss_path
from harness.plan import SuitePlan, Trial
from harness.registry import get_benchmark
from worker.baselines import SERVICE_LOSSES
from worker.records_file import RecordedRun, Records, read_records, trials_fingerprint


def usable_records(plan: SuitePlan) -> tuple[Records | None, str]:
    """The suite's shipped records if they match what the service would train now, with the reason when they do
    not."""
    records = read_records(plan.suite)
    if records is None:
        return None, f"no recorded results ship for the {plan.suite} suite"
    stale = stale_because(records, plan)
    return (None, stale) if stale else (records, "")


def stale_because(records: Records, plan: SuitePlan) -> str | None:
    """Why `records` are not what the service would train now on `plan`, or None when they are, run for run.

    Every announced-flip run must be there; transfer runs that are not are trained by the service
    (`missing_transfer_runs`), after every announced run in the queue's order."""
    if records.harness_version != HARNESS_VERSION:
        return f"recorded with harness {records.harness_version}, this is harness {HARNESS_VERSION}"
    if records.trials_fingerprint != trials_fingerprint(plan.trials):
        return "recorded on other trials (another master seed or number of trials)"
    present = _present(records)
    if not present <= _expected(plan.trained_benchmarks, plan.trials):
        return "runs of losses or benchmarks the service does not train"
    missing = sorted(_expected(plan.benchmarks, plan.trials) - present)
    if missing:
        return f"{len(missing)} runs missing (first: {missing[0]})"
    for run in records.runs:
        if not _loss_unchanged(run):
            return f"{run.loss}: its loss file changed since it was recorded"
        if run.result["benchmark"]["fingerprint"] != get_benchmark(run.benchmark, records.suite).fingerprint():
            return f"{run.benchmark}: the benchmark's definition changed since it was recorded"
    return None


def missing_transfer_runs(records: Records, plan: SuitePlan) -> list[tuple[str, str, Trial]]:
    """(loss, benchmark, trial) of the plan's transfer runs the records lack."""
    by_index = {trial.index: trial for trial in plan.trials}
    missing = _expected(plan.transfer_benchmarks, plan.trials) - _present(records)
    return [(name, benchmark, by_index[index]) for name, benchmark, index in sorted(missing)]


def resumable_runs(plan: SuitePlan, path: Path) -> list[RecordedRun]:
    """The runs of a file already at `path` that a recording of `plan` keeps: those of this harness and these
    trials whose loss file is unchanged. None of a file cut short mid-line."""
    if not path.exists():
        return []
    try:
        records = read_records(plan.suite, path)
    except (json.JSONDecodeError, TypeError, ValueError):  # cut short mid-line: start again
        return []
    fingerprint = trials_fingerprint(plan.trials)
    if records is None or records.harness_version != HARNESS_VERSION or records.trials_fingerprint != fingerprint:
        return []
    return [run for run in records.runs if _loss_unchanged(run)]


def _loss_unchanged(run: RecordedRun) -> bool:
    return run.loss_sha256 == sha256_of(loss_path(run.loss).read_text())


def _present(records: Records) -> set[tuple[str, str, int]]:
    return {(run.loss, run.benchmark, run.trial) for run in records.runs}


def _expected(benchmarks: Sequence[str], trials: Sequence[Trial]) -> set[tuple[str, str, int]]:
    return {(loss, benchmark, trial.index) for loss in SERVICE_LOSSES for benchmark in benchmarks for trial in trials}
