"""Run loss files on every benchmark of a suite over several seeds; print a markdown table of the results.

Makes the proxy calibration table (docs/proxy-calibration.md), the published methods' comparison
(docs/published-methods.md) and the bf16-versus-fp32 measurement (docs/performance.md). Each run's result JSON is
kept in --results-dir, so an interrupted experiment resumes where it stopped. Seed s is both the training seed and
the poison seed of a run. A loss is a shipped name (harness/losses) or the path of a trusted .py loss file.

    python benchmarks/loss_table.py --suite proxy --seeds 42 --out docs/proxy-baselines.md
    python benchmarks/loss_table.py --suite proxy --seeds 1 2 3 4 5 --losses cross_entropy generalized_ce \
        --precision bf16 --results-dir benchmarks/results/bf16 --jobs 1 --threads 1
"""

import argparse
import json
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from paired_differences import paired_summary

from harness.losses import BASELINES, loss_path
from harness.registry import benchmarks_in
from harness.result import PRIMARY_METRIC, PUBLISHED_METRICS

METRICS = tuple(metric.name for metric in PUBLISHED_METRICS)  # test_acc, poison_fit, robust_score


def run_one(
    suite: str,
    benchmark_name: str,
    loss: str,
    seed: int,
    results_dir: Path,
    data_root: Path,
    threads: int,
    precision: str = "fp32",
) -> Path:
    """Train one (loss, benchmark, seed) in `precision` unless its result file exists; returns the result file."""
    import torch

    from harness.datasets import load_splits
    from harness.loss_file import load_loss, sha256_of
    from harness.registry import get_benchmark
    from harness.trainer import Precision, run

    path = loss_file(loss)
    out = results_dir / suite / benchmark_name / f"{path.stem}-seed{seed}.json"
    source = path.read_text()
    if out.exists():
        kept = json.loads(out.read_text())
        # Results written before the precision field existed were all trained in fp32 on the CPU.
        if kept["loss_sha256"] == sha256_of(source) and kept.get("precision", "fp32") == precision:
            return out  # a result of this very file and precision; an edited loss file is run again
    torch.set_num_threads(threads)
    benchmark = get_benchmark(benchmark_name, suite)
    splits = load_splits(benchmark, data_root)
    result = run(
        benchmark,
        load_loss(source, path.name),
        splits,
        seed=seed,
        poison_seed=seed,
        device=torch.device("cpu"),
        loss_sha256=sha256_of(source),
        precision=Precision(precision),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(result.to_json())
    m = result.metrics
    print(
        f"{suite}/{benchmark_name} {path.stem} ({precision}) seed {seed}: test_acc {m.test_acc:.3f} "
        f"poison_fit {m.poison_fit:.3f} robust_score {m.robust_score:.3f} ({result.wall_seconds:.0f} s)",
        file=sys.stderr,
        flush=True,
    )
    return out


def loss_file(loss: str) -> Path:
    """A shipped loss's file, or `loss` itself when it is the path of a .py file (a trusted variant)."""
    if loss.endswith(".py") and Path(loss).is_file():
        return Path(loss)
    return loss_path(loss)


def refuse_unknown_losses(parser: argparse.ArgumentParser, names: list[str]) -> None:
    """Exit with the list of shipped losses if a name is neither one of them nor a .py file, before any run."""
    for name in names:
        try:
            loss_file(name)
        except LookupError as error:
            parser.error(f"{error}; or give the path of a .py loss file")


def load_metrics(path: Path) -> dict[str, float]:
    return json.loads(path.read_text())["metrics"]


def mean_std(values: list[float]) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {spread:.3f}" if len(values) > 1 else f"{values[0]:.3f}"


def results_table(results: dict[tuple[str, str], list[dict]], losses: list[str], benchmarks: list[str]) -> str:
    """One row per loss: test_acc / poison_fit / robust_score per benchmark, then the suite's mean robust_score."""
    header = "| loss | " + " | ".join(f"{b} (test_acc / poison_fit / robust_score)" for b in benchmarks)
    lines = [header + " | mean robust_score |", "|---" * (len(benchmarks) + 2) + "|"]
    for loss in losses:
        cells, suite_scores = [], []
        for benchmark in benchmarks:
            runs = results[(loss, benchmark)]
            cells.append(" / ".join(mean_std([r[metric] for r in runs]) for metric in METRICS))
            suite_scores.append([r[PRIMARY_METRIC] for r in runs])
        per_seed_mean = [statistics.mean(scores) for scores in zip(*suite_scores, strict=True)]
        lines.append(f"| {loss} | " + " | ".join(cells) + f" | {mean_std(per_seed_mean)} |")
    return "\n".join(lines)


def paired_table(
    results: dict[tuple[str, str], list[dict]], against: str, losses: list[str], benchmarks: list[str]
) -> str:
    """Per benchmark and competitor: `against`'s robust_score minus the competitor's, per seed, with a t-interval."""
    lines = [
        "| benchmark | competitor | per-seed difference in robust_score | mean | 95% t-interval | seeds won |",
        "|---|---|---|---|---|---|",
    ]
    for benchmark in benchmarks:
        ours = [r[PRIMARY_METRIC] for r in results[(against, benchmark)]]
        for loss in (name for name in losses if name != against):
            theirs = [r[PRIMARY_METRIC] for r in results[(loss, benchmark)]]
            differences = [a - b for a, b in zip(ours, theirs, strict=True)]
            mean, low, high = paired_summary(differences)
            wins = sum(d > 0 for d in differences)
            listed = ", ".join(f"{d:+.3f}" for d in differences)
            interval = f"[{low:+.3f}, {high:+.3f}]"
            lines.append(f"| {benchmark} | {loss} | {listed} | {mean:+.3f} | {interval} | {wins}/{len(differences)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="proxy", choices=["proxy", "smoke", "official"])
    parser.add_argument("--losses", nargs="+", default=list(BASELINES), help="shipped loss names (harness/losses)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[42])
    parser.add_argument("--benchmarks", nargs="+", help="default: every benchmark of the suite")
    parser.add_argument("--paired-against", help="add a paired per-seed comparison of this loss against the others")
    parser.add_argument("--results-dir", type=Path, default=Path("var/loss-table"))
    parser.add_argument("--data-root", type=Path, default=Path("data"), help="for the official suite")
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel")
    parser.add_argument("--threads", type=int, help="torch threads per run (default 2 // jobs, at least 1)")
    parser.add_argument(
        "--precision",
        default="fp32",
        choices=["fp32", "bf16"],
        help="the training forward pass's arithmetic (evaluation is fp32 either way); give each its own --results-dir",
    )
    parser.add_argument("--out", type=Path, help="also write the markdown here")
    args = parser.parse_args()
    refuse_unknown_losses(parser, args.losses)

    benchmarks = [b.name for b in benchmarks_in(args.suite)]
    for name in set(args.benchmarks or []) - set(benchmarks):
        parser.error(f"no benchmark {name!r} in the {args.suite} suite; known: {', '.join(benchmarks)}")
    benchmarks = args.benchmarks or benchmarks
    threads = args.threads or max(1, 2 // args.jobs)
    # Seed by seed, so that an interrupted experiment has complete seeds to look at.
    jobs = [(loss, b, seed) for seed in args.seeds for b in benchmarks for loss in args.losses]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {
            job: pool.submit(
                run_one, args.suite, job[1], job[0], job[2], args.results_dir, args.data_root, threads, args.precision
            )
            for job in jobs
        }
        paths = {job: future.result() for job, future in futures.items()}
    results = {
        (loss, b): [load_metrics(paths[(loss, b, seed)]) for seed in args.seeds]
        for loss in args.losses
        for b in benchmarks
    }
    seeds = ", ".join(map(str, args.seeds))
    text = f"Suite `{args.suite}`, {args.precision} training, seeds {seeds} (mean ± standard deviation over seeds).\n\n"
    text += results_table(results, args.losses, benchmarks) + "\n"
    if args.paired_against:
        text += "\n" + paired_table(results, args.paired_against, args.losses, benchmarks) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
