"""Paired differences in a metric between two arms of loss_table.py results: per benchmark, mean and 95% t-interval.

An arm is a results directory and a loss name: the same loss in two precisions (bf16 against fp32), or two readings
of one method. Both arms must hold the same seeds; seed s of one is paired with seed s of the other, which shared
its poisoned subset, initial weights, batch order and augmentation (docs/reproducibility.md).

    python benchmarks/paired_differences.py --seeds 1 2 3 4 5 \
        --pair benchmarks/results/bf16 cross_entropy benchmarks/results cross_entropy
"""

import argparse
import json
import statistics
from pathlib import Path

from scipy import stats

from harness.registry import benchmarks_in
from harness.result import PRIMARY_METRIC, PUBLISHED_METRICS

CONFIDENCE = 0.95


def metric_per_seed(
    results_dir: Path, suite: str, benchmark: str, loss: str, seeds: list[int], metric: str
) -> list[float]:
    """The arm's `metric` per seed, in seed order; a missing run is an error naming the file."""
    scores = []
    for seed in seeds:
        path = results_dir / suite / benchmark / f"{Path(loss).stem}-seed{seed}.json"
        if not path.is_file():
            raise SystemExit(f"no result {path}; run benchmarks/loss_table.py for it first")
        scores.append(json.loads(path.read_text())["metrics"][metric])
    return scores


def paired_summary(differences: list[float]) -> tuple[float, float, float]:
    """(mean, low, high): the mean difference and its two-sided 95% Student-t interval over n - 1 degrees of freedom."""
    mean = statistics.mean(differences)
    if len(differences) < 2:
        return mean, float("nan"), float("nan")
    spread = stats.sem(differences)
    if spread == 0.0:
        return mean, mean, mean
    low, high = stats.t.interval(CONFIDENCE, len(differences) - 1, loc=mean, scale=spread)
    return mean, float(low), float(high)


def difference_row(benchmark: str, first: list[float], second: list[float], label: str) -> str:
    differences = [a - b for a, b in zip(first, second, strict=True)]
    mean, low, high = paired_summary(differences)
    listed = ", ".join(f"{d:+.3f}" for d in differences)
    return f"| {benchmark} | {label} | {len(differences)} | {listed} | {mean:+.4f} | [{low:+.4f}, {high:+.4f}] |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="proxy", choices=["proxy", "smoke", "official"])
    parser.add_argument("--seeds", nargs="+", type=int, required=True)
    parser.add_argument("--benchmarks", nargs="+", help="default: every benchmark of the suite")
    parser.add_argument("--metric", default=PRIMARY_METRIC, choices=[metric.name for metric in PUBLISHED_METRICS])
    parser.add_argument(
        "--pair",
        nargs=4,
        action="append",
        required=True,
        metavar=("DIR_A", "LOSS_A", "DIR_B", "LOSS_B"),
        help="one comparison, A minus B; repeat for more",
    )
    args = parser.parse_args()
    rows = []  # every result is read before anything is printed, so a missing one stops a half table
    for dir_a, loss_a, dir_b, loss_b in args.pair:
        label = f"{Path(loss_a).stem} ({dir_a}) − {Path(loss_b).stem} ({dir_b})"
        for benchmark in args.benchmarks or [b.name for b in benchmarks_in(args.suite)]:
            first = metric_per_seed(Path(dir_a), args.suite, benchmark, loss_a, args.seeds, args.metric)
            second = metric_per_seed(Path(dir_b), args.suite, benchmark, loss_b, args.seeds, args.metric)
            rows.append(difference_row(benchmark, first, second, label))
    print(
        f"Suite `{args.suite}`, seeds {', '.join(map(str, args.seeds))}: {args.metric} of A minus B, seed by seed; "
        f"mean and {CONFIDENCE:.0%} t-interval.\n"
    )
    print("| benchmark | A − B | n | per-seed difference | mean | 95% t-interval |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
