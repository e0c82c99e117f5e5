"""Recording results: every service loss trained here on a suite's plan as the worker trains it (sandboxed, fp32),
several runs at a time in a pool of processes, each run appended to the file as it finishes
(`poisonbench admin baselines record`)."""

import os
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import torch

from harness.datasets import load_splits
from harness.loss_file import sha256_of
from harness.losses import loss_path
from harness.plan import SuitePlan, Trial
from harness.registry import flip_design, get_benchmark
from harness.result import validate_result
from worker.baselines import SERVICE_LOSSES
from worker.lifecycle import train_trial
from worker.records_file import RecordedRun, Records, read_records, write_header, write_run
from worker.records_staleness import resumable_runs
from worker.sandboxed_loss import open_loss


def record(
    plan: SuitePlan,
    datasets_dir: Path,
    jobs: int,
    path: Path,
    on_run: Callable[[RecordedRun, int, int], None] = lambda run, done, total: None,
    benchmarks: Collection[str] | None = None,
) -> Records:
    """Train every service loss on every benchmark (or those of `benchmarks`) and trial of the plan, `jobs` runs at
    a time, appending each run to `path` as it finishes.

    A file already at `path` for the same harness, trials and loss files keeps its runs: an interrupted
    recording resumes where it stopped, and one of some benchmarks is completed by another of the others. A
    transfer run of an older flip design is trained again when its benchmark is recorded, else kept as it is.
    """
    chosen = set(plan.trained_benchmarks if benchmarks is None else benchmarks)
    kept = [
        run
        for run in resumable_runs(plan, path)
        if run.flip_design == flip_design(run.benchmark) or run.benchmark not in chosen
    ]
    done_already = {(run.loss, run.benchmark, run.trial) for run in kept}
    todo = [
        (name, benchmark, trial)
        for names in (plan.benchmarks, plan.transfer_benchmarks)  # the transfer track after every announced run
        for trial in plan.trials
        for name in SERVICE_LOSSES
        for benchmark in names
        if (name, benchmark, trial.index) not in done_already and benchmark in chosen
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        write_header(out, plan)
        for run in kept:
            write_run(out, run)
        for done, run in enumerate(_train_all(plan.suite, todo, datasets_dir, jobs), start=len(kept) + 1):
            write_run(out, run)
            on_run(run, done, len(kept) + len(todo))
    records = read_records(plan.suite, path)
    assert records is not None
    return records


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
    return RecordedRun(name, sha256_of(code), trial.index, result, flip_design(benchmark_name))
