"""Per-step overhead of the out-of-process loss: a minibatch's loss and gradient in the sandbox vs in-process.

A step is what the trainer does with the loss: `loss = loss_fn(logits, labels, epoch)`, then
`loss.backward()`, on (batch, classes) float32 CPU logits that require grad. The sandboxed step adds one round
trip: logits and labels over a Unix socket, the loss process's forward and backward, the gradient back.
In-process and sandboxed blocks of steps alternate in rounds so that a busy machine slows both alike; each
figure is the median over the rounds of a block's mean. Both sides compute on one thread, as the loss process
always does (sandbox/launch.py), so that the difference is the exchange alone. Figures: docs/performance.md.

    python benchmarks/sandbox_overhead.py --steps 200 --rounds 7
"""

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from harness.contract import LossFn
from harness.loss_file import load_loss
from harness.losses import BASELINES, loss_path
from sandbox.config import SandboxConfig, SandboxMode
from sandbox.proxy import open_sandboxed_loss


def microseconds_per_step(loss_fn: LossFn, logits: torch.Tensor, labels: torch.Tensor, steps: int) -> float:
    began = time.perf_counter()
    for epoch in range(steps):
        leaf = logits.detach().requires_grad_()
        loss_fn(leaf, labels, epoch % 100).backward()
    return (time.perf_counter() - began) / steps * 1e6


def median_of_rounds(measure: Callable[[], float], rounds: int) -> float:
    return statistics.median(measure() for _ in range(rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--losses", nargs="+", default=list(BASELINES), choices=BASELINES)
    parser.add_argument("--classes", nargs="+", type=int, default=[10, 100])
    parser.add_argument("--batch", type=int, default=128, help="the registry's batch size")
    parser.add_argument("--steps", type=int, default=200, help="steps per block")
    parser.add_argument("--rounds", type=int, default=7, help="alternating blocks of each kind")
    parser.add_argument("--sandbox", default="required", choices=[mode.value for mode in SandboxMode])
    args = parser.parse_args()
    config = SandboxConfig(mode=SandboxMode(args.sandbox))
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, sandbox {config.mode}, batch {args.batch}, {args.steps} steps a block")
    print("| loss | classes | in-process µs/step | sandboxed µs/step | overhead µs/step | sandbox start s |")
    print("|---|---|---|---|---|---|")
    for name in args.losses:
        source = loss_path(name).read_text()
        in_process = load_loss(source)
        began = time.perf_counter()
        with open_sandboxed_loss(source, config) as confined:
            start_seconds = time.perf_counter() - began
            for classes in args.classes:
                generator = torch.Generator().manual_seed(classes)
                logits = torch.randn(args.batch, classes, generator=generator)
                labels = torch.randint(classes, (args.batch,), generator=generator)
                for loss_fn in (in_process, confined):  # warm-up: allocator, first-call paths
                    microseconds_per_step(loss_fn, logits, labels, 10)
                blocks: dict[str, list[float]] = {"in": [], "out": []}
                for _ in range(args.rounds):
                    blocks["in"].append(microseconds_per_step(in_process, logits, labels, args.steps))
                    blocks["out"].append(microseconds_per_step(confined, logits, labels, args.steps))
                inside, outside = statistics.median(blocks["in"]), statistics.median(blocks["out"])
                print(
                    f"| {name} | {classes} | {inside:.0f} | {outside:.0f} | {outside - inside:.0f} "
                    f"| {start_seconds:.1f} |"
                )


if __name__ == "__main__":
    main()
