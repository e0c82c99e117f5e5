"""Per-step overhead of the out-of-process loss: a minibatch's loss and gradient in the sandbox vs in-process.

A step is what the trainer does with the loss: `loss = loss_fn(logits, labels, epoch)`, then
`loss.backward()`, on (batch, classes) float32 CPU logits that require grad. The sandboxed step adds the
exchange with the loss process (sandbox/protocol.py): the minibatch to it, its forward and backward, the gradient
back. In-process and sandboxed blocks of steps alternate in rounds so that a busy machine slows both alike; each
figure is the median over the rounds of a block's mean. Both sides compute on one thread, as the loss process
always does (sandbox/launch.py), so that the difference is the exchange alone.

With `--burners N` each loss is measured twice: idle, then beside N CPU-bound busy loops that this script starts
and stops itself (a worker's model training on the same cores is the case it stands for). Both tables are
printed. With `--gap-ms G` the trainer's thread stays busy for G ms between steps, as a model's forward and
backward would keep it, and only the loss's part of each step is timed: the loss process then waits G ms for every
call, as in training, rather than being called back to back. Figures: docs/performance.md.

    python benchmarks/sandbox_overhead.py --steps 200 --rounds 7 --burners 2
"""

import argparse
import contextlib
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from harness.contract import LossFn
from harness.loss_file import load_loss
from harness.losses import BASELINES, loss_path
from sandbox.config import SandboxConfig, SandboxMode
from sandbox.proxy import open_sandboxed_loss

BUSY_LOOP = "while True: pass"


@dataclass(frozen=True)
class Row:
    loss: str
    classes: int
    in_process: float  # µs per step, median block
    sandboxed: float  # µs per step, median block
    start_seconds: float  # to start the loss process and load the file

    def markdown(self) -> str:
        overhead = self.sandboxed - self.in_process
        return (
            f"| {self.loss} | {self.classes} | {self.in_process:.0f} | {self.sandboxed:.0f} | {overhead:.0f} "
            f"| {self.start_seconds:.1f} |"
        )


def microseconds_per_step(
    loss_fn: LossFn, logits: torch.Tensor, labels: torch.Tensor, steps: int, gap: float = 0.0
) -> float:
    """Mean µs of the loss and its backward per step; with `gap`, a busy wait of that many seconds between steps
    (the model's forward and backward, which keep the trainer's core busy) that the figure leaves out."""
    spent = 0.0
    for epoch in range(steps):
        began = time.perf_counter()
        while time.perf_counter() - began < gap:
            pass
        leaf = logits.detach().requires_grad_()
        began = time.perf_counter()
        loss_fn(leaf, labels, epoch % 100).backward()
        spent += time.perf_counter() - began
    return spent / steps * 1e6


def measure(
    in_process: LossFn,
    confined: LossFn,
    logits: torch.Tensor,
    labels: torch.Tensor,
    steps: int,
    rounds: int,
    gap: float,
) -> tuple[float, float]:
    """Median µs per step of each, over `rounds` alternating blocks of `steps` steps, after a warm-up."""
    for loss_fn in (in_process, confined):  # allocator, first-call paths
        microseconds_per_step(loss_fn, logits, labels, 10, gap)
    inside, outside = [], []
    for _ in range(rounds):
        inside.append(microseconds_per_step(in_process, logits, labels, steps, gap))
        outside.append(microseconds_per_step(confined, logits, labels, steps, gap))
    return statistics.median(inside), statistics.median(outside)


@contextlib.contextmanager
def cpu_burners(count: int) -> Iterator[None]:
    """`count` processes spinning in a busy loop for as long as the block runs; each stopped by its own pid."""
    burners = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(count)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def print_table(title: str, rows: list[Row]) -> None:
    print(f"\n{title}")
    print("| loss | classes | in-process µs/step | sandboxed µs/step | overhead µs/step | sandbox start s |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(row.markdown())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--losses", nargs="+", default=list(BASELINES), choices=BASELINES)
    parser.add_argument("--classes", nargs="+", type=int, default=[10, 100])
    parser.add_argument("--batch", type=int, default=128, help="the registry's batch size")
    parser.add_argument("--steps", type=int, default=200, help="steps per block")
    parser.add_argument("--rounds", type=int, default=7, help="alternating blocks of each kind")
    parser.add_argument("--burners", type=int, default=0, help="also measure beside this many busy loops")
    parser.add_argument(
        "--gap-ms", type=float, default=0.0, help="busy milliseconds between steps, as a model's forward and backward"
    )
    parser.add_argument("--sandbox", default="required", choices=[mode.value for mode in SandboxMode])
    args = parser.parse_args()
    config = SandboxConfig(mode=SandboxMode(args.sandbox))
    torch.set_num_threads(1)
    gap = args.gap_ms / 1000
    print(
        f"torch {torch.__version__}, sandbox {config.mode}, batch {args.batch}, {args.steps} steps a block, "
        f"{args.gap_ms:g} ms between steps"
    )
    idle: list[Row] = []
    burdened: list[Row] = []
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
                figures = measure(in_process, confined, logits, labels, args.steps, args.rounds, gap)
                idle.append(Row(name, classes, *figures, start_seconds))
                if args.burners:
                    with cpu_burners(args.burners):
                        figures = measure(in_process, confined, logits, labels, args.steps, args.rounds, gap)
                    burdened.append(Row(name, classes, *figures, start_seconds))
    print_table("Idle (no busy loop of this script running):", idle)
    if args.burners:
        print_table(f"Beside {args.burners} CPU-bound busy loops:", burdened)


if __name__ == "__main__":
    main()
