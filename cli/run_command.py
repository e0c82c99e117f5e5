"""`poisonbench run LOSS.py`: train one benchmark with a loss file and write its result JSON."""

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from cli import CommandError
from harness.contract import LossContractError, LossFn
from harness.registry import (
    Benchmark,
    Suite,
    UnknownBenchmarkError,
    benchmark_names,
    get_benchmark,
    trained_benchmark_names,
    transfer_benchmark_names,
)

if TYPE_CHECKING:  # harness.result imports torch, which `poisonbench` loads only for the commands that train
    from harness.result import EpochRecord

DEFAULT_SEED = 42  # the original harness's single seed


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser("run", help="train one benchmark with a RobustLoss file and measure it")
    parser.add_argument("loss_file", type=Path, metavar="LOSS.py", help="a file defining class RobustLoss")
    parser.add_argument(
        "--benchmark",
        required=True,
        choices=trained_benchmark_names(),
        metavar="NAME",
        help=f"one of: {', '.join(benchmark_names())}; or of the transfer track (a hidden flip drawn from the poison "
        f"seed): {', '.join(transfer_benchmark_names())}",
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
        _say_where_the_result_goes(args.out)
        with open_loss(source, str(args.loss_file), args.sandbox) as loss_fn, _progress(benchmark) as on_epoch:
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


def _say_where_the_result_goes(out: Path | None) -> None:
    """Said before training, so nobody learns after an hour's run that its result was not kept."""
    if out is None:
        print("no --out: the result JSON (metrics, curve, provenance) is not saved", file=sys.stderr)
    else:
        print(f"the result JSON will be written to {out}", file=sys.stderr)


@contextlib.contextmanager
def _progress(benchmark: Benchmark) -> Iterator[Callable[["EpochRecord"], None]]:
    """A bar of the benchmark's epochs with its ETA on stderr, and one line per epoch's metrics above it."""
    from tqdm import tqdm

    with tqdm(total=benchmark.epochs, desc=benchmark.key, unit="epoch", file=sys.stderr, dynamic_ncols=True) as bar:

        def on_epoch(record: "EpochRecord") -> None:
            bar.write(
                f"epoch {record.epoch + 1}/{benchmark.epochs}  test_acc {record.test_acc:.4f}  "
                f"poison_fit {record.poison_fit:.4f}  train_loss {record.train_loss:.4f}",
                file=sys.stdout,  # tqdm clears the bar on stderr before the line and redraws it below
            )
            bar.update(1)

        yield on_epoch
