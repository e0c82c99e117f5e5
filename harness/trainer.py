"""The fixed training recipe as one fast path: data on the device, batched augmentation, one loss seam.

The trainer never imports a loss file. It calls `loss_fn(logits, labels, epoch)` and `.backward()`s what comes
back, so a trusted in-process loss and the sandbox's out-of-process proxy run through identical code.
"""

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum

import torch
from torch import nn

from harness.augment import eval_transform, train_transform
from harness.contract import LossFn, check_loss_value, non_finite_loss_error
from harness.datasets import ImageSplits
from harness.environment import describe_environment
from harness.metrics import accuracy, clean_fit, poison_fit, robust_score
from harness.models import build_model
from harness.poisoning import PoisonedLabels, benchmark_flip, poison_labels
from harness.registry import Benchmark
from harness.result import EpochRecord, Metrics, RunResult
from harness.seeds import Stream, generator, stream_seed

EpochCallback = Callable[[EpochRecord], None]


@dataclass(frozen=True)
class DeviceData:
    """Everything a run reads, moved to the device once: uint8 images, labels, normalisation constants."""

    train_images: torch.Tensor  # (N, 3, S, S) uint8
    train_labels: torch.Tensor  # (N,) poisoned labels: what the loss sees
    clean_train_labels: torch.Tensor
    poison_indices: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    mean: torch.Tensor  # (1, 3, 1, 1)
    std: torch.Tensor

    @classmethod
    def build(
        cls, benchmark: Benchmark, splits: ImageSplits, poisoned: PoisonedLabels, device: torch.device
    ) -> "DeviceData":
        mean, std = (torch.tensor(v, device=device).view(1, -1, 1, 1) for v in benchmark.normalization)
        return cls(
            train_images=splits.train_images.to(device),
            train_labels=poisoned.labels.to(device),
            clean_train_labels=splits.train_labels.to(device),
            poison_indices=poisoned.poison_indices.to(device),
            test_images=splits.test_images.to(device),
            test_labels=splits.test_labels.to(device),
            mean=mean,
            std=std,
        )


def resolve_device(name: str) -> torch.device:
    """'auto' picks CUDA when present; asking for CUDA without it is an error, not a silent fallback."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but torch sees no CUDA device; use --device cpu")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {name!r}; choose auto, cpu or cuda")
    return torch.device(name)


class Precision(StrEnum):
    """The arithmetic of the training forward pass; evaluation always runs in fp32, whatever this says."""

    # fp32 is every run's default, on every device: bf16 training scored lower on the VGG proxy on all five paired
    # seeds (robust_score -0.0075, 95% t-interval [-0.0146, -0.0004]: docs/performance.md, "bf16 training versus
    # fp32"), so the cheaper arithmetic is not free of effect on the measured figures.
    FP32 = "fp32"  # the original harness's precision
    BF16 = "bf16"  # autocast to bfloat16, on CUDA or the CPU: for measuring its effect, never an official run


def _training_autocast(device: torch.device, precision: Precision) -> contextlib.AbstractContextManager:
    """bf16 autocast when asked for; otherwise plain fp32."""
    if precision is Precision.BF16:
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _memory_format(device: torch.device) -> torch.memory_format:
    return torch.channels_last if device.type == "cuda" else torch.contiguous_format


def train_one_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: DeviceData,
    loss_fn: LossFn,
    benchmark: Benchmark,
    official_epoch: int,
    order: torch.Generator,
    augmentation: torch.Generator,
    precision: Precision,
) -> float:
    """One pass over the shuffled training set; returns the mean loss. Synchronises with the host once, at the end."""
    model.train()
    device = data.train_images.device
    permutation = torch.randperm(len(data.train_labels), device=device, generator=order)
    loss_sum = torch.zeros((), device=device)
    batches = 0
    for indices in permutation.split(benchmark.batch_size):
        images = train_transform(
            data.train_images[indices], benchmark.crop_padding, data.mean, data.std, augmentation
        ).contiguous(memory_format=_memory_format(device))
        with _training_autocast(device, precision):
            logits = model(images)
        loss = loss_fn(logits.float(), data.train_labels[indices], official_epoch)
        check_loss_value(loss, logits)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.detach().reshape(())
        batches += 1
    mean_loss = (loss_sum / batches).item()
    if not math.isfinite(mean_loss):  # a NaN or inf in any step makes the sum non-finite
        raise non_finite_loss_error(official_epoch)
    return mean_loss


@torch.inference_mode()
def predict(
    model: nn.Module,
    images: torch.Tensor,
    data: DeviceData,
    batch_size: int,
    augmentation: tuple[int, torch.Generator] | None = None,
) -> torch.Tensor:
    """Eval-mode fp32 predictions in large batches; `augmentation` = (padding, generator) applies the train transform.

    No autocast here, on any device: bf16's 8-bit mantissa can flip the argmax of a near-tie, and a metric must
    not depend on the arithmetic the model was trained in.
    """
    model.eval()
    predictions = []
    with torch.autocast(images.device.type, enabled=False):  # even inside a caller's autocast
        for batch in images.split(batch_size):
            if augmentation is None:
                inputs = eval_transform(batch, data.mean, data.std)
            else:
                inputs = train_transform(batch, augmentation[0], data.mean, data.std, augmentation[1])
            logits = model(inputs.contiguous(memory_format=_memory_format(images.device)))
            predictions.append(logits.argmax(dim=1))
    return torch.cat(predictions)


def evaluate(model: nn.Module, data: DeviceData, benchmark: Benchmark, run_seed: int) -> tuple[float, float]:
    """(test_acc, poison_fit), poison_fit with the train transform on, as the published table measured it.

    The augmentation stream restarts at every call, so every epoch sees the poisoned samples through the same crops
    and flips, and the last epoch's figures are the final metrics.
    """
    test_predictions = predict(model, data.test_images, data, benchmark.eval_batch_size)
    augmentation = generator(run_seed, Stream.EVAL_AUGMENT, data.train_images.device)
    poisoned_predictions = predict(
        model,
        data.train_images[data.poison_indices],
        data,
        benchmark.eval_batch_size,
        augmentation=(benchmark.crop_padding, augmentation),
    )
    poisoned_labels = data.train_labels[data.poison_indices]
    return accuracy(test_predictions, data.test_labels), accuracy(poisoned_predictions, poisoned_labels)


def final_metrics(model: nn.Module, data: DeviceData, benchmark: Benchmark, last_epoch: EpochRecord) -> Metrics:
    """The final epoch's metrics: its test_acc and poison_fit, plus one unaugmented pass over the training set."""
    train_predictions = predict(model, data.train_images, data, benchmark.eval_batch_size)
    return Metrics(
        test_acc=last_epoch.test_acc,
        poison_fit=last_epoch.poison_fit,
        poison_fit_noaug=poison_fit(train_predictions, data.train_labels, data.poison_indices),
        clean_fit=clean_fit(train_predictions, data.clean_train_labels, data.poison_indices),
        robust_score=robust_score(last_epoch.test_acc, last_epoch.poison_fit),
    )


class _TrainClock:
    """Training time only: CUDA events on a GPU (no sync per step), perf_counter on the CPU."""

    def __init__(self, device: torch.device):
        self.device = device
        self.seconds = 0.0

    @contextlib.contextmanager
    def measure(self) -> Iterator[None]:
        if self.device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            yield
            end.record()
            end.synchronize()
            self.seconds += start.elapsed_time(end) / 1000.0
        else:
            began = time.perf_counter()
            yield
            self.seconds += time.perf_counter() - began


def run(
    benchmark: Benchmark,
    loss_fn: LossFn,
    splits: ImageSplits,
    *,
    seed: int,
    poison_seed: int,
    device: torch.device,
    loss_sha256: str = "",
    on_epoch: EpochCallback | None = None,
    precision: Precision = Precision.FP32,
) -> RunResult:
    """Poison, train `benchmark.epochs` epochs with `loss_fn` in `precision`, measure in fp32.

    A transfer benchmark's hidden flip follows from the poison seed and is, like it, never in the result.

    Deterministic for fixed seeds on one CPU with one thread count; another CPU may round differently
    (docs/reproducibility.md).
    """
    began = time.perf_counter()
    flip = benchmark_flip(benchmark, poison_seed)
    poisoned = poison_labels(splits.train_labels, benchmark.poison_rate, benchmark.num_classes, poison_seed, flip)
    data = DeviceData.build(benchmark, splits, poisoned, device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        # The global generator drives weight init and dropout; seeding it keeps the caller's RNG untouched.
        torch.manual_seed(stream_seed(seed, Stream.INIT))
        model = build_model(benchmark.architecture, benchmark.num_classes, benchmark.width_multiplier)
        model = model.to(device, memory_format=_memory_format(device))
        optimizer = torch.optim.SGD(
            model.parameters(),
            lr=benchmark.learning_rate,
            momentum=benchmark.momentum,
            weight_decay=benchmark.weight_decay,
        )
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=benchmark.epochs)
        order, augmentation = generator(seed, Stream.ORDER, device), generator(seed, Stream.AUGMENT, device)
        clock, curve = _TrainClock(device), []
        for epoch in range(benchmark.epochs):
            official_epoch = benchmark.official_epoch(epoch)
            with clock.measure():
                train_loss = train_one_epoch(
                    model, optimizer, data, loss_fn, benchmark, official_epoch, order, augmentation, precision
                )
            schedule.step()
            test_acc, poison_fit_aug = evaluate(model, data, benchmark, seed)
            record = EpochRecord(epoch, official_epoch, train_loss, test_acc, poison_fit_aug, clock.seconds)
            curve.append(record)
            if on_epoch is not None:
                on_epoch(record)
        metrics = final_metrics(model, data, benchmark, curve[-1])
    return RunResult(
        benchmark=benchmark,
        seed=seed,
        poison_seed=poison_seed,
        loss_sha256=loss_sha256,
        metrics=metrics,
        curve=curve,
        environment=describe_environment(device),
        wall_seconds=time.perf_counter() - began,
        train_seconds=clock.seconds,
        images_per_second=benchmark.epochs * len(data.train_labels) / max(clock.seconds, 1e-9),
        precision=precision.value,
    )
