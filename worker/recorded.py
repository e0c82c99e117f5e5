"""Recorded results: the service losses' runs on the proxy and smoke suites, trained by the project with its own
harness and shipped in worker/records/, so that a new service's board shows every baseline and published method
at once and a new user's first submission starts at once (docs/recorded-results.md).

`poisonbench admin baselines record` produces a suite's file; `serve` installs it on first start when it still
matches (same harness version, loss files, benchmarks and trials); `poisonbench admin baselines rerun` trains
the same runs locally, and its results replace the recorded ones once they have all succeeded.
"""

import hashlib
import json
import os
import shlex
import sys
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import TextIO

import torch
from sqlalchemy.orm import Session

from db import queries
from harness import HARNESS_VERSION
from harness.datasets import load_splits
from harness.loss_file import sha256_of
from harness.losses import loss_path
from harness.plan import SuitePlan, Trial
from harness.registry import get_benchmark
from harness.result import validate_result
from worker.baselines import SERVICE_LOSSES, service_participant
from worker.lifecycle import train_trial
from worker.tasks import open_loss

RECORDS_DIR = Path(__file__).with_name("records")


def records_path(suite: str) -> Path:
    return RECORDS_DIR / f"{suite}.jsonl"


def trials_fingerprint(trials: Sequence[Trial]) -> str:
    """Which trials the records were trained on, without saying so: the seeds' hash (a poison seed is secret)."""
    seeds = ";".join(f"{t.index}:{t.seeds.training_seed}:{t.seeds.poison_seed}" for t in trials)
    return hashlib.sha256(seeds.encode()).hexdigest()


@dataclass(frozen=True)
class RecordedRun:
    loss: str  # a name of worker.baselines.SERVICE_LOSSES
    loss_sha256: str  # of the loss file it was trained with
    trial: int
    result: dict  # harness.result.RunResult as JSON, without its poison seed

    @property
    def benchmark(self) -> str:
        return self.result["benchmark"]["name"]


@dataclass(frozen=True)
class Records:
    """One suite's file: a header line (what the runs were trained with), then one line per run."""

    suite: str
    harness_version: str
    trials_fingerprint: str
    trials: int
    command: str  # that produced them
    runs: tuple[RecordedRun, ...]

    def stale_because(self, plan: SuitePlan) -> str | None:
        """Why these records are not what the service would train now on `plan`, or None when they are, run for run.

        Every announced-flip run must be there; transfer runs that are not are trained by the service
        (`missing_transfer_runs`), after every announced run in the queue's order."""
        if self.harness_version != HARNESS_VERSION:
            return f"recorded with harness {self.harness_version}, this is harness {HARNESS_VERSION}"
        if self.trials_fingerprint != trials_fingerprint(plan.trials):
            return "recorded on other trials (another master seed or number of trials)"
        present = self._present()
        if not present <= _expected(plan.trained_benchmarks, plan.trials):
            return "runs of losses or benchmarks the service does not train"
        missing = sorted(_expected(plan.benchmarks, plan.trials) - present)
        if missing:
            return f"{len(missing)} runs missing (first: {missing[0]})"
        for run in self.runs:
            if run.loss_sha256 != sha256_of(loss_path(run.loss).read_text()):
                return f"{run.loss}: its loss file changed since it was recorded"
            if run.result["benchmark"]["fingerprint"] != get_benchmark(run.benchmark, self.suite).fingerprint():
                return f"{run.benchmark}: the benchmark's definition changed since it was recorded"
        return None

    def missing_transfer_runs(self, plan: SuitePlan) -> list[tuple[str, str, Trial]]:
        """(loss, benchmark, trial) of the plan's transfer runs the records lack."""
        by_index = {trial.index: trial for trial in plan.trials}
        missing = _expected(plan.transfer_benchmarks, plan.trials) - self._present()
        return [(name, benchmark, by_index[index]) for name, benchmark, index in sorted(missing)]

    def _present(self) -> set[tuple[str, str, int]]:
        return {(run.loss, run.benchmark, run.trial) for run in self.runs}


def _expected(benchmarks: Sequence[str], trials: Sequence[Trial]) -> set[tuple[str, str, int]]:
    return {(loss, benchmark, trial.index) for loss in SERVICE_LOSSES for benchmark in benchmarks for trial in trials}


def read_records(suite: str, path: Path | None = None) -> Records | None:
    """The suite's shipped records, or None when there are none."""
    path = path or records_path(suite)
    if not path.exists():
        return None
    header, *lines = path.read_text().splitlines()
    meta = json.loads(header)
    runs = tuple(RecordedRun(**json.loads(line)) for line in lines)
    return Records(suite, meta["harness_version"], meta["trials_fingerprint"], meta["trials"], meta["command"], runs)


def usable_records(plan: SuitePlan) -> tuple[Records | None, str]:
    """The suite's records if they match what the service would train now, with the reason when they do not."""
    records = read_records(plan.suite)
    if records is None:
        return None, f"no recorded results ship for the {plan.suite} suite"
    stale = records.stale_because(plan)
    return (None, stale) if stale else (records, "")


def install_records(session: Session, records: Records, plan: SuitePlan) -> list[int]:
    """Every service loss as a submission with its recorded runs, and queued runs for the plan's transfer runs the
    records lack; returns the queued runs' ids."""
    owner = service_participant(session)
    missing = records.missing_transfer_runs(plan)
    queued: list[int] = []
    for name, (kind, description) in SERVICE_LOSSES.items():
        code = loss_path(name).read_text()
        queued += queries.submissions.create_recorded_submission(
            session,
            owner,
            plan=plan,
            name=name,
            code=code,
            sha256=sha256_of(code),
            description=description,
            kind=kind,
            filename=loss_path(name).name,
            results=[(run.trial, run.result) for run in records.runs if run.loss == name],
            to_train=[(benchmark, trial) for loss, benchmark, trial in missing if loss == name],
        )
    return queued


def record(
    plan: SuitePlan,
    datasets_dir: Path,
    jobs: int,
    path: Path,
    on_run: Callable[[RecordedRun, int, int], None] = lambda run, done, total: None,
    benchmarks: Collection[str] | None = None,
) -> Records:
    """Train every service loss on every benchmark (or those of `benchmarks`) and trial of the plan, as the worker
    does (sandboxed, fp32), `jobs` runs at a time, appending each run to `path` as it finishes.

    A file already at `path` for the same harness, trials and loss files keeps its runs: an interrupted
    recording resumes where it stopped, and one of some benchmarks is completed by another of the others.
    """
    suite = plan.suite
    fingerprint = trials_fingerprint(plan.trials)
    kept = _resumable_runs(suite, path, fingerprint)
    done_already = {(run.loss, run.benchmark, run.trial) for run in kept}
    todo = [
        (name, benchmark, trial)
        for names in (plan.benchmarks, plan.transfer_benchmarks)  # the transfer track after every announced run
        for trial in plan.trials
        for name in SERVICE_LOSSES
        for benchmark in names
        if (name, benchmark, trial.index) not in done_already and (benchmarks is None or benchmark in benchmarks)
    ]
    header = {
        "suite": suite,
        "harness_version": HARNESS_VERSION,
        "trials_fingerprint": fingerprint,
        "trials": len(plan.trials),
        "command": shlex.join(["poisonbench", *sys.argv[1:]]),
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        _write_line(out, header)
        for run in kept:
            _write_line(out, run.__dict__)
        for done, run in enumerate(_train_all(suite, todo, datasets_dir, jobs), start=len(kept) + 1):
            _write_line(out, run.__dict__)
            on_run(run, done, len(kept) + len(todo))
    records = read_records(suite, path)
    assert records is not None
    return records


def _resumable_runs(suite: str, path: Path, fingerprint: str) -> list[RecordedRun]:
    if not path.exists():
        return []
    try:
        records = read_records(suite, path)
    except (json.JSONDecodeError, TypeError, ValueError):  # cut short mid-line: start again
        return []
    if records is None or records.harness_version != HARNESS_VERSION or records.trials_fingerprint != fingerprint:
        return []
    return [run for run in records.runs if run.loss_sha256 == sha256_of(loss_path(run.loss).read_text())]


def _write_line(out: TextIO, record: dict) -> None:
    out.write(json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n")
    out.flush()


def _train_all(suite: str, todo: list[tuple[str, str, Trial]], datasets_dir: Path, jobs: int) -> Iterator[RecordedRun]:
    threads = max(1, (os.cpu_count() or 1) // jobs)
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(_train_one, suite, name, benchmark, trial, datasets_dir, threads)
            for name, benchmark, trial in todo
        ]
        for future in as_completed(futures):
            yield future.result()


def _train_one(
    suite: str, name: str, benchmark_name: str, trial: Trial, datasets_dir: Path, threads: int
) -> RecordedRun:
    torch.set_num_threads(threads)
    benchmark = get_benchmark(benchmark_name, suite)
    path = loss_path(name)
    code = path.read_text()
    splits = load_splits(benchmark, datasets_dir)
    result = train_trial(benchmark, splits, code, path.name, sha256_of(code), trial.seeds, open_loss)
    validate_result(result)
    return RecordedRun(name, sha256_of(code), trial.index, result)
