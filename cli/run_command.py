"""`poisonbench run LOSS.py`: train one benchmark with a loss file and write its result JSON."""

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

from cli import CommandError
from harness.contract import LossContractError, LossFn
from harness.registry import Suite, UnknownBenchmarkError, benchmark_names, get_benchmark

DEFAULT_SEED = 42  # the original harness's single seed


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser("run", help="train one benchmark with a RobustLoss file and measure it")
    parser.add_argument("loss_file", type=Path, metavar="LOSS.py", help="a file defining class RobustLoss")
    parser.add_argument(
        "--benchmark",
        required=True,
        choices=benchmark_names(),
        metavar="NAME",
        help=f"one of: {', '.join(benchmark_names())}",
    )
    parser.add_argument(
        "--suite",
        choices=[s.value for s in Suite],
        help="official (real data, GPU), proxy (digits, CPU minutes) or smoke (seconds); "
        "default: official with CUDA, proxy without",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="training seed (default 42)")
    parser.add_argument("--poison-seed", type=int, help="seed of the poisoned subset (default: --seed)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--data-root", type=Path, default=Path("data"), help="dataset folder (default ./data)")
    parser.add_argument(
        "--sandbox",
        default="required",
        choices=["required", "off"],
        help="run the loss in the OS sandbox (default) or, for your own file only, in-process",
    )
    parser.add_argument("--out", type=Path, help="write the result JSON here")
    parser.set_defaults(handler=run_loss_file)


def run_loss_file(args: argparse.Namespace) -> None:
    import torch

    from harness.datasets import DatasetMissingError, load_splits
    from harness.loss_file import read_loss_source, sha256_of
    from harness.trainer import resolve_device, run

    try:
        device = resolve_device(args.device)
        suite = args.suite or default_suite(torch.cuda.is_available())
        benchmark = get_benchmark(args.benchmark, suite)
        source = read_loss_source(args.loss_file)
        splits = load_splits(benchmark, args.data_root)
        with open_loss(source, str(args.loss_file), args.sandbox) as loss_fn, _progress(benchmark.epochs) as on_epoch:
            result = run(
                benchmark,
                loss_fn,
                splits,
                seed=args.seed,
                poison_seed=args.seed if args.poison_seed is None else args.poison_seed,
                device=device,
                loss_sha256=sha256_of(source),
                on_epoch=on_epoch,
            )
    except (LossContractError, DatasetMissingError, UnknownBenchmarkError, ValueError) as error:
        raise CommandError(str(error)) from None
    metrics = result.metrics
    print(
        f"{benchmark.key}: test_acc {metrics.test_acc:.4f}  poison_fit {metrics.poison_fit:.4f}  "
        f"robust_score {metrics.robust_score:.4f}  ({result.wall_seconds:.0f} s, {result.images_per_second:.0f} img/s)"
    )
    if args.out:
        args.out.write_text(result.to_json())
        print(f"result written to {args.out}")


def default_suite(cuda_available: bool) -> Suite:
    if cuda_available:
        return Suite.OFFICIAL
    print("no CUDA device: using the proxy suite (pass --suite to choose)", file=sys.stderr)
    return Suite.PROXY


@contextlib.contextmanager
def open_loss(source: str, filename: str, sandbox_mode: str) -> Iterator[LossFn]:
    """The loss in the sandbox's confined process, or in-process (with a warning) for one's own trusted file."""
    if sandbox_mode == "off":
        from harness.loss_file import load_loss

        print(f"warning: --sandbox off runs {filename} in this process with your privileges", file=sys.stderr)
        yield load_loss(source, filename)
        return
    from sandbox import SandboxUnavailableError
    from sandbox.config import SandboxConfig
    from sandbox.proxy import open_sandboxed_loss

    try:
        with open_sandboxed_loss(source, SandboxConfig(), filename=filename) as loss_fn:
            yield loss_fn
    except SandboxUnavailableError as error:
        raise CommandError(f"{error} (for your own file you may pass --sandbox off)") from None


@contextlib.contextmanager
def _progress(epochs: int) -> Iterator:
    from tqdm import tqdm

    with tqdm(total=epochs, unit="epoch", file=sys.stderr, dynamic_ncols=True) as bar:

        def on_epoch(record) -> None:
            bar.set_postfix(loss=f"{record.train_loss:.3f}", test_acc=f"{record.test_acc:.3f}")
            bar.update(1)

        yield on_epoch
