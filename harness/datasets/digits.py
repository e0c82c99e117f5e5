"""scikit-learn's bundled digits (1,797 grey 8x8 images) and the proxy suite's fixed train/test split."""

from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from harness.datasets.preprocess import ImageSplits, to_image_splits
from harness.registry import Benchmark

# The split is part of the benchmark, not of a run: changing either constant changes every proxy result.
SPLIT_SEED = 0  # random_state of sklearn's stratified train_test_split
TEST_SAMPLES = 500  # stratified by digit; the other 1,297 images train
MAX_PIXEL_VALUE = 16  # digits pixels are counts 0..16 (sklearn.datasets.load_digits)


def load_digits_splits(benchmark: Benchmark, data_root: Path) -> ImageSplits:
    """The fixed split at the benchmark's size; `data_root` is unused (the data ships with scikit-learn)."""
    images, labels = digits_images()
    train_index, test_index = split_indices(labels)
    return to_image_splits(
        benchmark, (images[train_index], labels[train_index]), (images[test_index], labels[test_index])
    )


def digits_images() -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 images as (N, 1, 8, 8) uint8 on 0..255 (value * 255 / 16, rounded), and int64 labels."""
    digits = load_digits()
    pixels = np.rint(digits.images * 255 / MAX_PIXEL_VALUE).astype(np.uint8)
    return torch.from_numpy(pixels).unsqueeze(1), torch.from_numpy(digits.target).to(torch.int64)


def split_indices(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, test) indices of the fixed stratified split."""
    train_index, test_index = train_test_split(
        np.arange(len(labels)), test_size=TEST_SAMPLES, stratify=labels.numpy(), random_state=SPLIT_SEED
    )
    return torch.from_numpy(train_index), torch.from_numpy(test_index)
