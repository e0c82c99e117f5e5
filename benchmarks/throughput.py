"""Training throughput of our trainer against a straightforward DataLoader loop, same model, optimizer and batch.

Both pipelines train the official 32x32 configuration of each architecture for the same number of steps on
CIFAR-shaped random images (the data's content does not change the cost), after one warm-up step each:
- ours: uint8 images on the device, batched crop/flip/normalise, one host synchronisation per epoch;
- straightforward: torchvision's RandomCrop / RandomHorizontalFlip / ToTensor / Normalize on PIL images in a
  DataLoader (shuffle, --workers processes), `.to(device)` per batch, `loss.item()` per step as the torchvision
  reference script logs it.
Prints images/s of each and the ratio. Figures: docs/performance.md.

    python benchmarks/throughput.py --steps 10 --device cpu
"""

import argparse
import dataclasses
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from harness.datasets import ImageSplits
from harness.loss_file import load_loss
from harness.losses import loss_path
from harness.models import build_model
from harness.poisoning import poison_labels
from harness.registry import benchmarks_in
from harness.seeds import Stream, generator
from harness.trainer import DeviceData, Precision, resolve_device, train_one_epoch


class PilImages(Dataset):
    """CIFAR-style dataset: HWC uint8 arrays through PIL transforms, as torchvision.datasets.CIFAR10 does."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform: transforms.Compose):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return self.transform(Image.fromarray(self.images[index])), int(self.labels[index])


def _optimizer(model: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)


def ours(benchmark, splits: ImageSplits, device: torch.device, steps: int) -> float:
    poisoned = poison_labels(splits.train_labels, benchmark.poison_rate, benchmark.num_classes, 0)
    data = DeviceData.build(benchmark, splits, poisoned, device)
    model = build_model(benchmark.architecture, benchmark.num_classes).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    optimizer = _optimizer(model, benchmark.learning_rate)
    loss_fn = load_loss(loss_path("cross_entropy").read_text())
    order, augmentation = generator(0, Stream.ORDER, device), generator(0, Stream.AUGMENT, device)
    precision = Precision.FP32  # what every official run trains in
    warmup = dataclasses.replace(
        data,
        train_images=data.train_images[: benchmark.batch_size],
        train_labels=data.train_labels[: benchmark.batch_size],
    )
    train_one_epoch(model, optimizer, warmup, loss_fn, benchmark, 0, order, augmentation, precision)
    _synchronize(device)
    began = time.perf_counter()
    train_one_epoch(model, optimizer, data, loss_fn, benchmark, 0, order, augmentation, precision)
    _synchronize(device)
    return steps * benchmark.batch_size / (time.perf_counter() - began)


def straightforward(benchmark, splits: ImageSplits, device: torch.device, steps: int, workers: int) -> float:
    mean, std = benchmark.normalization
    transform = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(mean, std),
        ]
    )
    dataset = PilImages(splits.train_images.permute(0, 2, 3, 1).numpy(), splits.train_labels.numpy(), transform)
    loader = DataLoader(
        dataset,
        batch_size=benchmark.batch_size,
        shuffle=True,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        drop_last=False,
    )
    model = build_model(benchmark.architecture, benchmark.num_classes).to(device)
    optimizer = _optimizer(model, benchmark.learning_rate)
    began, images = None, 0
    for step, (inputs, labels) in enumerate(loader):
        if step == 1:  # the first step (worker start-up, allocator warm-up) is not timed
            _synchronize(device)
            began, images = time.perf_counter(), 0
        inputs, labels = inputs.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        loss = F.cross_entropy(model(inputs), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss.item()
        images += len(labels)
    _synchronize(device)
    return images / (time.perf_counter() - began)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def random_splits(benchmark, count: int) -> ImageSplits:
    rng = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (count, 3, 32, 32), dtype=torch.uint8, generator=rng)
    labels = torch.randint(0, benchmark.num_classes, (count,), generator=rng)
    return ImageSplits(images, labels, images[:1], labels[:1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="timed training steps per pipeline and model")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--workers", type=int, default=2, help="DataLoader worker processes (the original: 4)")
    args = parser.parse_args()
    device = resolve_device(args.device)
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, {args.steps} steps")
    print(f"{'architecture':12} {'ours img/s':>11} {'DataLoader img/s':>17} {'ratio':>6}")
    for benchmark in benchmarks_in("official"):
        splits = random_splits(benchmark, (args.steps + 1) * benchmark.batch_size)
        fast = ours(benchmark, splits, device, args.steps + 1)
        slow = straightforward(benchmark, splits, device, args.steps, args.workers)
        print(f"{benchmark.architecture:12} {fast:11.1f} {slow:17.1f} {fast / slow:6.2f}", flush=True)


if __name__ == "__main__":
    main()
