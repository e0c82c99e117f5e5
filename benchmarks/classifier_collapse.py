"""Watch VGG-16-BN's classifier under the official recipe's first steps: the share of its hidden ReLU units still
active, the loss and the logits' spread, every --every steps. Shows the collapse that keeps a short CPU run of the
100-class cell at chance with cross-entropy (docs/proxy-calibration.md, "Towards a faithful CPU suite").

Batches are drawn with replacement from a generated dataset (harness/datasets/digit_scenes.py), or from random
class prototypes plus noise (`--data prototypes`: separable data with no structure of ours at all).

    python benchmarks/classifier_collapse.py --width 0.25 --data numbers100 --loss cross_entropy --steps 120
"""

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F

from harness.augment import train_transform
from harness.datasets.digit_scenes import RECIPES, render_split
from harness.models import build_model

PROBE_NORM = (0.5, 0.25)  # mean and std: BN follows the first convolution, so a round value does


def batches(data: str, classes: int, steps: int, data_root: Path, generator: torch.Generator):
    """(images, labels) of 128 per step: normalised float images with the train transform, or prototypes + noise."""
    if data == "prototypes":
        prototypes = torch.randn(classes, 3, 32, 32, generator=generator)
        for _ in range(steps):
            labels = torch.randint(0, classes, (128,), generator=generator)
            yield prototypes[labels] + torch.randn(128, 3, 32, 32, generator=generator), labels
        return
    images, labels = render_split(data_root, data, RECIPES[data], "train", 4000)
    mean, std = (torch.full((1, 3, 1, 1), v) for v in PROBE_NORM)
    for _ in range(steps):
        index = torch.randint(0, len(labels), (128,), generator=generator)
        yield train_transform(images[index].expand(-1, 3, -1, -1), 4, mean, std, generator), labels[index]


def probe_loss(name: str, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    if name == "cross_entropy":
        return F.cross_entropy(logits, labels)
    p_label = torch.softmax(logits, dim=1).gather(1, labels[:, None]).clamp(min=1e-8)  # generalized CE, q = 0.7
    return ((1 - p_label**0.7) / 0.7).mean()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=float, default=0.25)
    parser.add_argument("--data", default="numbers100", choices=[*RECIPES, "prototypes"])
    parser.add_argument("--classes", type=int, default=100, help="with --data prototypes")
    parser.add_argument("--loss", default="cross_entropy", choices=["cross_entropy", "generalized_ce"])
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-root", type=Path, default=Path("data"))
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    classes = args.classes if args.data == "prototypes" else RECIPES[args.data].num_classes
    model = build_model("vgg16bn", classes, args.width)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    active: list[float] = []
    model.classifier[1].register_forward_hook(lambda _m, _i, out: active.append((out > 0).float().mean().item()))
    generator = torch.Generator().manual_seed(args.seed)
    for step, (images, labels) in enumerate(batches(args.data, classes, args.steps, args.data_root, generator)):
        logits = model(images)
        loss = probe_loss(args.loss, logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % args.every == 0 or step == args.steps - 1:
            accuracy = (logits.argmax(dim=1) == labels).float().mean().item()
            print(
                f"step {step:4d}  loss {loss.item():.3f}  logit sd {logits.std().item():.2f}  "
                f"active hidden units {active[-1]:.3f}  batch accuracy {accuracy:.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
