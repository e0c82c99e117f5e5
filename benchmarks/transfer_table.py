"""The transfer track's table from a suite's recorded results: each service loss's headline (announced flip) and
transfer score (hidden flip) with their intervals and ranks, the paired drop from one to the other, and the
robust_score on each hidden-flip benchmark, under the one flip design the records' transfer runs were trained
with (said above the table). Figures: docs/transfer.md.

    python benchmarks/transfer_table.py --suite proxy
"""

import argparse
from collections import defaultdict

from harness.registry import FLIP_DESIGN, benchmark_names, transfer_benchmark_names
from harness.result import PRIMARY_METRIC
from scoring.statistics import Estimate, RankInterval, estimate, headline_per_trial, paired_difference, rank_intervals
from worker.records_file import read_records


def interval(value: Estimate | None) -> str:
    if value is None:
        return "—"
    half = value.half_width
    return f"{value.mean:.3f}" if half is None else f"{value.mean:.3f} ± {half:.3f} (n={value.n})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="proxy", choices=["proxy", "smoke"])
    args = parser.parse_args()
    records = read_records(args.suite)
    if records is None:
        raise SystemExit(f"no recorded results for the {args.suite} suite")
    designs = sorted({run.flip_design for run in records.runs if run.flip_design is not None})
    if len(designs) > 1:
        raise SystemExit(f"the {args.suite} records mix hidden flip designs {designs}: one table would mix them")
    print(f"Transfer runs of hidden flip design {', '.join(map(str, designs)) or '—'} (current: {FLIP_DESIGN}).\n")
    announced, hidden = benchmark_names(args.suite), transfer_benchmark_names(args.suite)
    cells: dict[str, dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    for run in records.runs:
        cells[run.loss][run.benchmark][run.trial] = run.result["metrics"][PRIMARY_METRIC]
    headline = {loss: headline_per_trial(by_benchmark, announced) for loss, by_benchmark in cells.items()}
    transfer = {loss: headline_per_trial(by_benchmark, hidden) for loss, by_benchmark in cells.items()}
    headline_rank = rank_intervals(headline)
    transfer_rank = rank_intervals({loss: trials for loss, trials in transfer.items() if trials})
    print(
        "| loss | headline (announced flip) | rank | transfer (hidden flip) | rank | transfer − headline, paired | "
        + " | ".join(hidden)
        + " |"
    )
    print("|---" * (6 + len(hidden)) + "|")
    for loss in sorted(cells, key=lambda name: -estimate(list(headline[name].values())).mean):
        scored = transfer[loss]
        drop = paired_difference(scored, headline[loss]) if scored.keys() & headline[loss].keys() else None
        per_benchmark = [
            interval(estimate(list(cells[loss][name].values())) if cells[loss][name] else None) for name in hidden
        ]
        print(
            f"| {loss} | {interval(estimate(list(headline[loss].values())))} | {places(headline_rank[loss])} "
            f"| {interval(estimate(list(scored.values())) if scored else None)} | {places(transfer_rank.get(loss))} "
            f"| {interval(drop)} | " + " | ".join(per_benchmark) + " |"
        )


def places(rank: RankInterval | None) -> str:
    if rank is None:
        return "—"
    return str(rank.best) if rank.best == rank.worst else f"{rank.best}–{rank.worst}"


if __name__ == "__main__":
    main()
