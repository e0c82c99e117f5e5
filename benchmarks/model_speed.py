"""Training images per second of each architecture at the widths and image sizes a CPU suite could use: SGD steps of
batch 128 on random images, after two warm-up steps. The budget arithmetic of docs/proxy-calibration.md
("Towards a faithful CPU suite") rests on these figures.

    python benchmarks/model_speed.py --threads 1
"""

import argparse
import time

import torch
import torch.nn.functional as F

from harness.models import build_model

# (architecture, classes, width multiplier, image side)
CONFIGURATIONS = (
    ("resnet20", 10, 1.0, 32),
    ("resnet20", 10, 0.5, 32),
    ("resnet20", 10, 1.0, 16),
    ("vgg16bn", 100, 0.25, 32),
    ("vgg16bn", 100, 0.125, 32),
    ("mobilenetv2", 10, 0.25, 32),
    ("mobilenetv2", 10, 0.5, 16),
    ("mobilenetv2", 10, 0.25, 16),
)


def images_per_second(architecture: str, classes: int, width: float, side: int, steps: int) -> float:
    model = build_model(architecture, classes, width)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    images, labels = torch.randn(128, 3, side, side), torch.randint(0, classes, (128,))
    for step in range(steps + 2):
        if step == 2:
            began = time.perf_counter()
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return 128 * steps / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print("| architecture | classes | width | side | training images/s |\n|---|---|---|---|---|")
    for architecture, classes, width, side in CONFIGURATIONS:
        speed = images_per_second(architecture, classes, width, side, args.steps)
        print(f"| {architecture} | {classes} | {width} | {side} | {speed:.0f} |", flush=True)


if __name__ == "__main__":
    main()
