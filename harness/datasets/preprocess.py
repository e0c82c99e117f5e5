"""The step every dataset shares: decoded uint8 images to the trainer's ready `ImageSplits`."""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from harness.registry import Benchmark


@dataclass(frozen=True)
class ImageSplits:
    """A benchmark's clean data, preprocessed once: images (N, 3, S, S) uint8 on CPU, labels (N,) int64."""

    train_images: Tensor
    train_labels: Tensor  # clean: poisoning happens in the trainer, on a copy
    test_images: Tensor
    test_labels: Tensor


def to_image_splits(benchmark: Benchmark, train: tuple[Tensor, Tensor], test: tuple[Tensor, Tensor]) -> ImageSplits:
    """Checks each (images, labels) split's size against the registry, then resizes and repeats channels."""
    _check_size(benchmark, "train", len(train[1]), benchmark.train_samples)
    _check_size(benchmark, "test", len(test[1]), benchmark.test_samples)
    return ImageSplits(
        train_images=to_benchmark_images(train[0], benchmark.image_size),
        train_labels=train[1].to(torch.int64),
        test_images=to_benchmark_images(test[0], benchmark.image_size),
        test_labels=test[1].to(torch.int64),
    )


def to_benchmark_images(images: Tensor, image_size: int) -> Tensor:
    """(N, 1 or 3, H, W) uint8 -> (N, 3, image_size, image_size) uint8; grey is resized, then repeated."""
    if images.shape[-2:] != (image_size, image_size):
        images = _resize(images, image_size)
    if images.shape[1] == 1:
        images = images.repeat(1, 3, 1, 1)
    return images.contiguous()


def _resize(images: Tensor, image_size: int) -> Tensor:
    # torch's uint8 bilinear-antialias kernel rather than float-and-round: it reproduces PIL's fixed-point resize,
    # i.e. torchvision's Resize on PIL images as the original harness used it. Measured on random images: equal to
    # PIL on 28->32, 8->16 and 8->32 (the tests check 28->32); float-and-round is one grey level off on 18% of
    # the pixels of 28->32.
    return F.interpolate(images, size=(image_size, image_size), mode="bilinear", antialias=True)


def _check_size(benchmark: Benchmark, split: str, found: int, expected: int) -> None:
    if found != expected:
        raise ValueError(
            f"{benchmark.key}: the {benchmark.dataset} {split} split has {found} images, "
            f"the registry expects {expected}"
        )
