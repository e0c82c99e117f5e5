"""Train one candidate CPU-suite cell once with a shipped loss and print one JSON line: the probe behind
docs/proxy-calibration.md's "Towards a faithful CPU suite" tables.

A cell is an official architecture on a generated dataset (harness/datasets/digit_scenes.py) at a chosen size,
width and epoch count, with the official recipe (SGD 0.1, momentum 0.9, weight decay 5e-4, cosine, batch 128,
crop and flip, the official poison rate). --recipe overrides a dataset recipe's knobs as JSON.

    python benchmarks/cell_probe.py --cell resnet --loss cross_entropy --epochs 40 --train 4000 --image 16 --pad 2
"""

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch

from harness.datasets import digit_scenes, load_splits
from harness.loss_file import load_loss, read_loss_source
from harness.losses import loss_path
from harness.models import vgg16bn
from harness.registry import Benchmark, Suite
from harness.trainer import run

# (architecture, dataset, classes, poison rate) of each official benchmark's stand-in.
CELLS = {
    "resnet": ("resnet20", "scenes10", 10, 0.10),
    "vgg": ("vgg16bn", "numbers100", 100, 0.10),
    "mobile": ("mobilenetv2", "strokes10", 10, 0.15),
}
PROBE_NORM = ((0.5,) * 3, (0.25,) * 3)  # a round normalisation: BN follows the first convolution of every model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", choices=CELLS, required=True)
    parser.add_argument("--dataset", choices=digit_scenes.RECIPES, help="default: the cell's")
    parser.add_argument("--loss", required=True, help="a shipped loss name (harness/losses)")
    parser.add_argument("--seed", type=int, default=1, help="training seed; the poison seed is 1000 + seed")
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--train", type=int, required=True, help="training images")
    parser.add_argument("--test", type=int, default=2000, help="test images")
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--image", type=int, default=32, help="pixels the model sees")
    parser.add_argument("--pad", type=int, default=4, help="crop padding in pixels")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--classifier-hidden", type=int, help="VGG-16-BN: keep the classifier's hidden width at this many units"
    )
    parser.add_argument("--recipe", default="{}", help="JSON of SceneRecipe fields to override")
    parser.add_argument("--data-root", type=Path, default=Path("data"))
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    if args.classifier_hidden:  # the width multiplier scales the hidden width too; undo that for the classifier
        vgg16bn.CLASSIFIER_WIDTH = args.classifier_hidden / args.width
    architecture, dataset, classes, rate = CELLS[args.cell]
    dataset = args.dataset or dataset
    changes = {k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(args.recipe).items()}
    digit_scenes.RECIPES[dataset] = dataclasses.replace(digit_scenes.RECIPES[dataset], **changes)
    benchmark = Benchmark(
        name=f"probe-{args.cell}", suite=Suite.PROXY, architecture=architecture, dataset=dataset,
        num_classes=classes, poison_rate=rate, train_samples=args.train, test_samples=args.test,
        epochs=args.epochs, width_multiplier=args.width, image_size=args.image, crop_padding=args.pad,
        normalization=PROBE_NORM,
    )  # fmt: skip
    splits = load_splits(benchmark, args.data_root)
    loss = load_loss(read_loss_source(loss_path(args.loss)))
    began = time.perf_counter()
    result = run(benchmark, loss, splits, seed=args.seed, poison_seed=1000 + args.seed, device=torch.device("cpu"))
    every = max(1, args.epochs // 10)
    print(json.dumps({
        **{k: v for k, v in vars(args).items() if k not in ("data_root", "threads")}, "dataset": dataset,
        **dataclasses.asdict(result.metrics), "seconds": round(time.perf_counter() - began, 1),
        "curve": [(r.epoch, round(r.test_acc, 3), round(r.poison_fit, 3)) for r in result.curve[::every]],
    }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
