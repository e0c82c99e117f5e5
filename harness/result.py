"""The result of one run: metrics, per-epoch curve, configuration and provenance, as a versioned JSON schema."""

import dataclasses
import json
import platform
import sys
from dataclasses import dataclass

import torch

import harness
from harness.registry import Benchmark

# Version 1: metrics, curve, benchmark constants, seeds, loss sha256, environment, timing.
# Version 2: + precision, the training arithmetic (evaluation became fp32 on every device).
SCHEMA_VERSION = 2


@dataclass(frozen=True)
class EpochRecord:
    epoch: int  # real epoch, 0-indexed
    official_epoch: int  # what the loss saw, on the 100-epoch scale
    train_loss: float  # mean loss over the epoch's minibatches
    test_acc: float
    poison_fit: float  # with the train transform, as the final metric
    train_seconds: float  # cumulative training time, evaluation excluded


@dataclass(frozen=True)
class Metrics:
    test_acc: float  # clean test accuracy after the final epoch, eval mode
    poison_fit: float  # poisoned samples predicted as their poisoned label, train transform on (as published)
    poison_fit_noaug: float  # the same without augmentation
    clean_fit: float  # accuracy on the unpoisoned training samples, no augmentation
    robust_score: float  # (test_acc + 1 - poison_fit) / 2


@dataclass(frozen=True)
class RunResult:
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
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict:
        record = dataclasses.asdict(self)
        record["benchmark"] = {**record["benchmark"], "fingerprint": self.benchmark.fingerprint()}
        return record

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str)


def describe_environment(device: torch.device) -> dict[str, str]:
    environment = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda or "none",
        "device": device.type,
        "device_name": platform.processor() or platform.machine(),
        "threads": str(torch.get_num_threads()),
    }
    if device.type == "cuda":
        environment["device_name"] = torch.cuda.get_device_name(device)
        environment["cudnn"] = str(torch.backends.cudnn.version())
    return environment
