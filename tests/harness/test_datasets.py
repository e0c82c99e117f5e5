"""Datasets load through the real loaders from files in the exact on-disk formats, preprocessed once."""

import dataclasses
import hashlib
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.datasets import CIFAR10, CIFAR100

from harness.datasets import DATASETS, DatasetMissingError, download_dataset, load_splits
from harness.datasets.digits import digits_images, split_indices
from harness.registry import BENCHMARKS, DIGITS_NORM, SYNTHETIC_NORM, Benchmark, benchmarks_in, get_benchmark

# sha256 of the digits test indices (sorted, comma-separated): the proxy split is part of the benchmark, so a
# scikit-learn release that moves it must fail here rather than silently change every proxy result.
DIGITS_TEST_SPLIT_SHA256 = "d43ada7f812e5e1e92477a6904198fc4d572674c62dbbe9ca028630d8f14e87c"


def tiny(benchmark_name: str, train_samples: int, test_samples: int) -> Benchmark:
    """An official benchmark resized to the tiny fixture files written by these tests."""
    official = get_benchmark(benchmark_name)
    return dataclasses.replace(official, train_samples=train_samples, test_samples=test_samples)


def random_images(count: int, channels: int, size: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, channels, size, size), dtype=np.uint8)


def write_pickle(path: Path, content: dict) -> None:
    """The CIFAR archives hold Python 2 pickles whose str keys torchvision reads back as str ("data", not
    b"data", with encoding="latin1"); a protocol-2 pickle with str keys reads back the same."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        pickle.dump(content, file, protocol=2)


def declare_fixture_checksums(monkeypatch: pytest.MonkeyPatch, dataset_class: type[CIFAR10], root: Path) -> None:
    """torchvision compares each CIFAR file's md5 with the published archive's. These fixtures are not those
    files, so the test puts their own md5s in torchvision's table; the comparison itself still runs."""
    folder = root / dataset_class.base_folder

    def md5(name: str) -> str:
        return hashlib.md5((folder / name).read_bytes()).hexdigest()

    for table in ("train_list", "test_list"):
        monkeypatch.setattr(dataset_class, table, [[name, md5(name)] for name, _ in getattr(dataset_class, table)])
    meta = dataset_class.meta
    monkeypatch.setattr(dataset_class, "meta", {**meta, "md5": md5(meta["filename"])})


def write_cifar10(
    root: Path, train: np.ndarray, train_labels: list[int], test: np.ndarray, test_labels: list[int]
) -> None:
    """cifar-10-batches-py as the real archive holds it: five train batches, a test batch, batches.meta; each
    batch a pickled dict of "data" (N, 3072) uint8 (1,024 red, then green, then blue pixels) and "labels"."""
    folder = root / "cifar-10-batches-py"
    for number, rows in enumerate(np.array_split(np.arange(len(train)), 5), start=1):
        batch = {"data": train[rows].reshape(len(rows), 3072), "labels": [train_labels[i] for i in rows]}
        write_pickle(folder / f"data_batch_{number}", batch)
    write_pickle(folder / "test_batch", {"data": test.reshape(len(test), 3072), "labels": test_labels})
    write_pickle(folder / "batches.meta", {"label_names": [f"class{c}" for c in range(10)]})


def write_cifar100(
    root: Path, train: np.ndarray, train_labels: list[int], test: np.ndarray, test_labels: list[int]
) -> None:
    """cifar-100-python: train, test (dicts with "data" and "fine_labels") and meta."""
    folder = root / "cifar-100-python"
    for name, images, labels in (("train", train, train_labels), ("test", test, test_labels)):
        split = {"data": images.reshape(len(images), 3072), "fine_labels": labels, "coarse_labels": labels}
        write_pickle(folder / name, split)
    write_pickle(folder / "meta", {"fine_label_names": [f"class{c}" for c in range(100)]})


def write_idx(path: Path, array: np.ndarray) -> None:
    """Big-endian idx: magic 0x0800 + ndim (2051 images, 2049 labels; 8 = unsigned byte), sizes, bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(f">I{array.ndim}I", 0x0800 + array.ndim, *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_fashionmnist(
    root: Path, train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, test_labels: np.ndarray
) -> None:
    """FashionMNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte, the uncompressed idx files."""
    raw = root / "FashionMNIST" / "raw"
    write_idx(raw / "train-images-idx3-ubyte", train)
    write_idx(raw / "train-labels-idx1-ubyte", train_labels)
    write_idx(raw / "t10k-images-idx3-ubyte", test)
    write_idx(raw / "t10k-labels-idx1-ubyte", test_labels)


def test_every_dataset_the_registry_names_has_a_loader():
    assert {b.dataset for b in BENCHMARKS.values()} <= set(DATASETS)


def test_cifar10_loads_every_batch_with_its_pixels_and_labels_unchanged(tmp_path, monkeypatch):
    train, test = random_images(10, 3, 32, seed=1), random_images(4, 3, 32, seed=2)
    train_labels, test_labels = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3], [5, 8, 9, 7]
    write_cifar10(tmp_path, train, train_labels, test, test_labels)
    declare_fixture_checksums(monkeypatch, CIFAR10, tmp_path)

    splits = load_splits(tiny("resnet20-cifar10-labelflip", 10, 4), tmp_path)

    assert splits.train_images.dtype == splits.test_images.dtype == torch.uint8
    assert splits.train_labels.dtype == splits.test_labels.dtype == torch.int64
    assert torch.equal(splits.train_images, torch.from_numpy(train))
    assert torch.equal(splits.test_images, torch.from_numpy(test))
    assert splits.train_labels.tolist() == train_labels
    assert splits.test_labels.tolist() == test_labels


def test_cifar100_loads_the_fine_labels(tmp_path, monkeypatch):
    train, test = random_images(6, 3, 32, seed=3), random_images(3, 3, 32, seed=4)
    write_cifar100(tmp_path, train, [99, 0, 42, 7, 7, 13], test, [1, 98, 50])
    declare_fixture_checksums(monkeypatch, CIFAR100, tmp_path)

    splits = load_splits(tiny("vgg16bn-cifar100-labelflip", 6, 3), tmp_path)

    assert splits.train_images.shape == (6, 3, 32, 32)
    assert torch.equal(splits.test_images, torch.from_numpy(test))
    assert splits.train_labels.tolist() == [99, 0, 42, 7, 7, 13]
    assert splits.test_labels.tolist() == [1, 98, 50]


def test_fashionmnist_is_resized_to_32_like_pil_and_repeated_to_three_identical_channels(tmp_path):
    train, test = random_images(5, 1, 28, seed=5)[:, 0], random_images(2, 1, 28, seed=6)[:, 0]
    write_fashionmnist(tmp_path, train, np.array([0, 9, 3, 3, 1]), test, np.array([2, 8]))

    splits = load_splits(tiny("mobilenetv2-fmnist-labelflip", 5, 2), tmp_path)

    assert splits.train_images.shape == (5, 3, 32, 32) and splits.test_images.shape == (2, 3, 32, 32)
    assert splits.train_images.dtype == torch.uint8
    assert torch.equal(splits.train_images[:, 0], splits.train_images[:, 1])
    assert torch.equal(splits.train_images[:, 0], splits.train_images[:, 2])
    assert splits.train_labels.tolist() == [0, 9, 3, 3, 1] and splits.test_labels.tolist() == [2, 8]
    # The original harness resized PIL images with torchvision's Resize(32): PIL's bilinear, pixel for pixel.
    pil = np.stack([np.asarray(Image.fromarray(image).resize((32, 32), Image.Resampling.BILINEAR)) for image in train])
    assert torch.equal(splits.train_images[:, 0], torch.from_numpy(pil))


@pytest.mark.parametrize(
    ("benchmark_name", "missing_file"),
    [
        ("resnet20-cifar10-labelflip", "cifar-10-batches-py/data_batch_1"),
        ("vgg16bn-cifar100-labelflip", "cifar-100-python/train"),
        ("mobilenetv2-fmnist-labelflip", "FashionMNIST/raw/train-images-idx3-ubyte"),
    ],
)
def test_a_missing_dataset_names_the_missing_file_and_the_download_command(tmp_path, benchmark_name, missing_file):
    benchmark = get_benchmark(benchmark_name)
    with pytest.raises(DatasetMissingError) as raised:
        load_splits(benchmark, tmp_path)
    assert str(tmp_path / missing_file) in str(raised.value)
    assert f"run `poisonbench data download {benchmark.dataset} --data-root {tmp_path}`" in str(raised.value)


def test_only_the_missing_file_is_named_when_the_rest_are_present(tmp_path):
    write_fashionmnist(tmp_path, np.zeros((1, 28, 28)), np.zeros(1), np.zeros((1, 28, 28)), np.zeros(1))
    (tmp_path / "FashionMNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetMissingError) as raised:
        load_splits(tiny("mobilenetv2-fmnist-labelflip", 1, 1), tmp_path)
    assert "t10k-labels-idx1-ubyte" in str(raised.value)
    assert "train-images-idx3-ubyte" not in str(raised.value)


def test_cifar_files_that_fail_torchvisions_checksum_are_reported_as_corrupted(tmp_path):
    write_cifar10(tmp_path, random_images(5, 3, 32, seed=7), [0] * 5, random_images(1, 3, 32, seed=8), [0])
    with pytest.raises(DatasetMissingError, match="fail torchvision's checksum"):
        load_splits(tiny("resnet20-cifar10-labelflip", 5, 1), tmp_path)


def test_a_split_whose_size_differs_from_the_registry_is_refused(tmp_path, monkeypatch):
    write_cifar10(tmp_path, random_images(5, 3, 32, seed=9), [0] * 5, random_images(1, 3, 32, seed=10), [0])
    declare_fixture_checksums(monkeypatch, CIFAR10, tmp_path)
    with pytest.raises(ValueError, match="train split has 5 images, the registry expects 50000"):
        load_splits(get_benchmark("resnet20-cifar10-labelflip"), tmp_path)


@pytest.mark.parametrize("benchmark", benchmarks_in("proxy"), ids=lambda b: b.name)
def test_digits_give_the_proxy_its_1297_and_500_images_at_its_size(benchmark, tmp_path):
    splits = load_splits(benchmark, tmp_path)
    size = benchmark.image_size
    assert splits.train_images.shape == (1_297, 3, size, size)
    assert splits.test_images.shape == (500, 3, size, size)
    assert splits.train_images.dtype == torch.uint8
    assert torch.equal(splits.train_images[:, 0], splits.train_images[:, 2])


def test_the_digits_split_is_stratified_disjoint_and_the_same_on_every_call():
    _, labels = digits_images()
    train_index, test_index = split_indices(labels)
    again_train, again_test = split_indices(labels)
    assert torch.equal(train_index, again_train) and torch.equal(test_index, again_test)
    assert sorted(train_index.tolist() + test_index.tolist()) == list(range(1_797))
    expected_per_class = 500 * torch.bincount(labels).double() / 1_797
    assert (torch.bincount(labels[test_index]).double() - expected_per_class).abs().max() < 1


def test_the_digits_split_is_the_pinned_one():
    _, labels = digits_images()
    _, test_index = split_indices(labels)
    digest = hashlib.sha256(",".join(map(str, sorted(test_index.tolist()))).encode()).hexdigest()
    assert digest == DIGITS_TEST_SPLIT_SHA256, "the proxy's digits split moved: every proxy result moves"


def test_digits_are_scaled_from_0_16_to_0_255():
    images, _ = digits_images()
    assert images.shape == (1_797, 1, 8, 8) and images.dtype == torch.uint8
    assert set(torch.unique(images).tolist()) <= {round(value * 255 / 16) for value in range(17)}
    assert images.max() == 255


def test_the_registry_digits_normalisation_is_the_train_split_measured_at_8x8():
    images, labels = digits_images()
    train_index, _ = split_indices(labels)
    pixels = images[train_index].double() / 255
    (mean, *_), (std, *_) = DIGITS_NORM
    assert round(pixels.mean().item(), 4) == mean
    assert round(pixels.std(correction=0).item(), 4) == std


@pytest.mark.parametrize("benchmark", benchmarks_in("smoke"), ids=lambda b: b.name)
def test_synthetic_splits_are_deterministic_and_sized_by_the_benchmark(benchmark, tmp_path):
    first, again = load_splits(benchmark, tmp_path), load_splits(benchmark, tmp_path)
    size = benchmark.image_size
    assert first.train_images.shape == (benchmark.train_samples, 3, size, size)
    assert first.test_images.shape == (benchmark.test_samples, 3, size, size)
    assert first.train_images.dtype == torch.uint8 and first.train_labels.dtype == torch.int64
    assert set(first.train_labels.tolist()) == set(range(benchmark.num_classes))
    for field in dataclasses.fields(first):
        assert torch.equal(getattr(first, field.name), getattr(again, field.name))


def test_synthetic_images_match_their_normalisation_and_their_classes_are_learnable(tmp_path):
    splits = load_splits(get_benchmark("resnet20-cifar10-labelflip", "smoke"), tmp_path)
    train, test = splits.train_images.float() / 255, splits.test_images.float() / 255
    (mean, *_), (std, *_) = SYNTHETIC_NORM
    assert abs(train.mean().item() - mean) < 0.03 and abs(train.std().item() - std) < 0.03
    class_means = torch.stack([train[splits.train_labels == c].mean(0) for c in range(10)]).flatten(1)
    nearest_mean = torch.cdist(test.flatten(1), class_means).argmin(1)
    assert (nearest_mean == splits.test_labels).float().mean() > 0.9


def test_downloading_an_unknown_dataset_names_the_known_ones(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'mnist'; choose one of: cifar10, cifar100"):
        download_dataset("mnist", tmp_path)


@pytest.mark.parametrize("name", ["digits", "synthetic"])
def test_datasets_that_ship_with_a_package_or_are_generated_download_nothing(name, tmp_path, caplog):
    caplog.set_level("INFO")
    download_dataset(name, tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert f"dataset {name} needs no download" in caplog.text
