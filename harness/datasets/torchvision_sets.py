"""CIFAR-10, CIFAR-100 and FashionMNIST: read from disk by torchvision's own dataset classes; downloads."""

from pathlib import Path

import torch
from torch import Tensor
from torchvision.datasets import CIFAR10, CIFAR100, FashionMNIST, VisionDataset

from harness.datasets.preprocess import ImageSplits, to_image_splits
from harness.registry import Benchmark

TORCHVISION_CLASSES: dict[str, type[VisionDataset]] = {
    "cifar10": CIFAR10,
    "cifar100": CIFAR100,
    "fashionmnist": FashionMNIST,
}


class DatasetMissingError(Exception):
    """A dataset's files are not under the data root, or fail torchvision's checksum."""


def load_torchvision_splits(benchmark: Benchmark, data_root: Path) -> ImageSplits:
    dataset_class = TORCHVISION_CLASSES[benchmark.dataset]
    train = _read_split(benchmark.dataset, dataset_class, data_root, train=True)
    test = _read_split(benchmark.dataset, dataset_class, data_root, train=False)
    return to_image_splits(benchmark, train, test)


def download_torchvision_set(name: str, data_root: Path) -> None:
    for train in (True, False):
        TORCHVISION_CLASSES[name](root=data_root, train=train, download=True)


def _read_split(name: str, dataset_class: type[VisionDataset], data_root: Path, train: bool) -> tuple[Tensor, Tensor]:
    """The whole split as (N, C, H, W) uint8 images and int64 labels, from the class's `.data`, `.targets`."""
    try:
        dataset = dataset_class(root=data_root, train=train, download=False)
    except RuntimeError as error:
        # torchvision says "Dataset not found [or corrupted]" (CIFAR also checks every file's md5 here).
        if "not found" not in str(error):
            raise
        raise DatasetMissingError(_missing_message(name, dataset_class, data_root)) from error
    images = torch.as_tensor(dataset.data)
    # CIFAR keeps (N, H, W, 3) numpy arrays, FashionMNIST (N, H, W) grey tensors.
    images = images.unsqueeze(1) if images.ndim == 3 else images.permute(0, 3, 1, 2)
    return images, torch.as_tensor(dataset.targets, dtype=torch.int64)


def _missing_message(name: str, dataset_class: type[VisionDataset], data_root: Path) -> str:
    expected = _expected_files(dataset_class, data_root)
    missing = [path for path in expected if not path.is_file()]
    problem = (
        "missing " + ", ".join(str(path) for path in missing)
        if missing
        else f"its files fail torchvision's checksum ({', '.join(str(path) for path in expected)})"
    )
    command = f"poisonbench data download {name} --data-root {data_root}"
    return f"dataset {name} under {data_root}: {problem}; run `{command}`"


def _expected_files(dataset_class: type[VisionDataset], data_root: Path) -> list[Path]:
    """The files torchvision's class reads, from its own tables, so the two lists cannot drift apart."""
    if issubclass(dataset_class, CIFAR10):
        names = [name for name, _ in dataset_class.train_list + dataset_class.test_list]
        names.append(dataset_class.meta["filename"])
        return [data_root / dataset_class.base_folder / name for name in names]
    # The MNIST family reads the uncompressed idx files under <root>/<ClassName>/raw.
    raw_folder = data_root / dataset_class.__name__ / "raw"
    return [raw_folder / Path(archive).stem for archive, _ in dataset_class.resources]
