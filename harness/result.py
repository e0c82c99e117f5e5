"""The result of one run, its one schema: metrics (with description and direction), curve, configuration, provenance.

Imports no torch: the database validates every stored result against it, and the leaderboard, the CSV exports and
the pages read the metric names, descriptions and directions from it.
"""

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ConfigDict, TypeAdapter, ValidationError

import harness
from harness.registry import Benchmark

# Version 1: metrics, curve, benchmark constants, seeds, loss sha256, environment, timing.
# Version 2: + precision, the training arithmetic (evaluation became fp32 on every device).
SCHEMA_VERSION = 2

# A stored result is JSON: a NaN or infinite figure would be a bug of the trainer, never a result.
_FINITE = ConfigDict(allow_inf_nan=False)


def _metric(description: str, *, higher_is_better: bool, published: bool) -> Any:
    return field(metadata={"description": description, "higher_is_better": higher_is_better, "published": published})


@dataclass(frozen=True)
class Metrics:
    """The final metrics of a run; the `published` ones are the columns of the benchmark's published table."""

    __pydantic_config__ = _FINITE

    test_acc: float = _metric(
        "clean test accuracy after the final epoch, eval mode", higher_is_better=True, published=True
    )
    poison_fit: float = _metric(
        "share of the poisoned training samples predicted as their poisoned label, train transform on",
        higher_is_better=False,
        published=True,
    )
    poison_fit_noaug: float = _metric(
        "poison_fit without augmentation", higher_is_better=False, published=False
    )
    clean_fit: float = _metric(
        "accuracy on the unpoisoned training samples, no augmentation", higher_is_better=True, published=False
    )
    robust_score: float = _metric(
        "(test_acc + 1 - poison_fit) / 2: the primary metric", higher_is_better=True, published=True
    )


@dataclass(frozen=True)
class Metric:
    """One metric as tables, exports and pages show it."""

    name: str
    description: str
    higher_is_better: bool
    published: bool  # in the benchmark's published table; the others are diagnostics

    @property
    def arrow(self) -> str:
        return "↑" if self.higher_is_better else "↓"


METRICS = tuple(Metric(f.name, **f.metadata) for f in dataclasses.fields(Metrics))
METRIC_NAMES = tuple(metric.name for metric in METRICS)
PUBLISHED_METRICS = tuple(metric for metric in METRICS if metric.published)
# The metric a board ranks by and a log line or a listing quotes for a run; every other module names it by this.
PRIMARY_METRIC = Metrics.__dataclass_fields__["robust_score"].name  # a KeyError here, not a silent typo elsewhere


@dataclass(frozen=True)
class EpochRecord:
    __pydantic_config__ = _FINITE

    epoch: int  # real epoch, 0-indexed
    official_epoch: int  # what the loss saw, on the 100-epoch scale
    train_loss: float  # mean loss over the epoch's minibatches
    test_acc: float
    poison_fit: float  # with the train transform, as the final metric
    train_seconds: float  # cumulative training time, evaluation excluded


@dataclass(frozen=True)
class RunResult:
    __pydantic_config__ = _FINITE

    benchmark: Benchmark
    seed: int
    poison_seed: int | None  # None when the service keeps it secret
    loss_sha256: str
    metrics: Metrics
    curve: list[EpochRecord]
    environment: dict[str, str]
    wall_seconds: float  # the whole run: data to device, training, evaluation
    train_seconds: float  # training steps only
    images_per_second: float  # training images / train_seconds
    precision: str  # the training forward pass's arithmetic, fp32 or bf16; evaluation is always fp32
    harness_version: str = harness.HARNESS_VERSION
    schema_version: Literal[2] = SCHEMA_VERSION  # Literal takes no name: keep it equal to SCHEMA_VERSION

    def to_dict(self) -> dict:
        record = dataclasses.asdict(self)
        record["benchmark"] = {**record["benchmark"], "fingerprint": self.benchmark.fingerprint()}
        return record

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str)


class ResultSchemaError(ValueError):
    """A result that does not match RunResult: a fault of the harness or of the service, never of the loss."""


_RUN_RESULT = TypeAdapter(RunResult)


def validate_result(record: dict) -> RunResult:
    """The RunResult that `record` (a RunResult.to_dict()) describes, or ResultSchemaError saying where it differs."""
    try:
        return _RUN_RESULT.validate_python(record)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:5])
        raise ResultSchemaError(f"the result does not match RunResult (schema {SCHEMA_VERSION}): {problems}") from None
