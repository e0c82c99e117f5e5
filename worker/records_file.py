"""The recorded results' file format: worker/records/SUITE.jsonl, a header line saying what the runs were trained
with, then one line per run (a RunResult as JSON, without its poison seed, and a transfer run's flip design).

What the file is for is docs/recorded-results.md: `poisonbench admin baselines record` writes it
(worker/records_training.py), `serve` installs it on first start when it still stands (worker/records_staleness.py,
worker/records_install.py).
"""

import hashlib
import json
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from harness import HARNESS_VERSION
from harness.plan import SuitePlan, Trial

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
    # A transfer run's hidden flip design (harness.registry.FLIP_DESIGN when it was trained); None on the announced
    # flip. Runs of an older design are installed as such: shown, never ranked with the current design's.
    flip_design: int | None

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


def read_records(suite: str, path: Path | None = None) -> Records | None:
    """The suite's shipped records (or those at `path`), or None when there are none."""
    path = path or records_path(suite)
    if not path.exists():
        return None
    header, *lines = path.read_text().splitlines()
    meta = json.loads(header)
    runs = tuple(RecordedRun(**json.loads(line)) for line in lines)
    return Records(suite, meta["harness_version"], meta["trials_fingerprint"], meta["trials"], meta["command"], runs)


def write_header(out: TextIO, plan: SuitePlan) -> None:
    """The header of a file of the plan's runs trained by this harness, by the command running now."""
    _write_line(
        out,
        {
            "suite": plan.suite,
            "harness_version": HARNESS_VERSION,
            "trials_fingerprint": trials_fingerprint(plan.trials),
            "trials": len(plan.trials),
            "command": shlex.join(["poisonbench", *sys.argv[1:]]),
            "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )


def write_run(out: TextIO, run: RecordedRun) -> None:
    """One run's line, flushed: a recording cut short keeps every run written so far."""
    _write_line(out, run.__dict__)


def _write_line(out: TextIO, record: dict) -> None:
    out.write(json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n")
    out.flush()
