"""How many trials a suite needs: the measured spread of paired differences between the board's entries and the
difference K trials detect.

Reads the entries a new service's board shows, the baselines and published methods, from the suite's shipped
recorded results (worker/records/<suite>.jsonl: the service's own trials, so trial t of two entries is one paired
trial; docs/recorded-results.md), and prints markdown tables for docs/statistics.md:

1. per benchmark and for the headline (the mean over the suite's benchmarks), the sd of paired differences in
   robust_score between the board's entries, pooled over their pairs, beside the sd the same differences would
   have on unpaired trials, and the smallest true difference K trials detect with 80 % power (K = 2, 3, 5, 10),
   and the fewest trials that detect the gaps seen between published top methods;
2. each pair's mean paired difference with its interval, its sd and the sd if unpaired;
3. every entry's headline over its trials with its 95 % interval and its rank interval;
4. the recorded runs' median wall time per benchmark, the cost of one trial of one entry.

    python benchmarks/power_analysis.py
    python benchmarks/power_analysis.py --suite smoke
"""

import argparse
import itertools
import math
import statistics

from harness.losses import BASELINES, PUBLISHED_METHODS
from harness.registry import Suite, benchmark_names
from harness.result import PRIMARY_METRIC
from scoring.statistics import (
    Estimate,
    detectable_difference,
    estimate,
    headline_per_trial,
    paired_difference,
    rank_intervals,
)
from worker.records_file import read_records

ENTRIES = (*PUBLISHED_METHODS, *BASELINES)  # the service's entries: on every board of the suite
TRIAL_COUNTS = (2, 3, 5, 10)
# The published top methods' headline scores differ from one another by 0.001 to 0.007 robust_score.
GAPS = (0.001, 0.003, 0.005, 0.007)

Scores = dict[str, dict[str, dict[int, float]]]  # benchmark -> entry -> trial -> robust_score


def load_scores(suite: str, benchmarks: list[str]) -> tuple[Scores, dict[str, list[float]]]:
    """robust_score per benchmark, entry and trial of the announced flip, and the runs' wall seconds per benchmark,
    from the suite's recorded results."""
    records = read_records(suite)
    if records is None:
        raise SystemExit(
            f"no recorded results of the {suite} suite: `poisonbench admin baselines record --suite {suite}`"
        )
    scores: Scores = {benchmark: {} for benchmark in benchmarks}
    wall_seconds: dict[str, list[float]] = {benchmark: [] for benchmark in benchmarks}
    for run in records.runs:
        if run.benchmark in scores and run.loss in ENTRIES:
            scores[run.benchmark].setdefault(run.loss, {})[run.trial] = run.result["metrics"][PRIMARY_METRIC]
            wall_seconds[run.benchmark].append(run.result["wall_seconds"])
    for benchmark, by_entry in scores.items():
        missing = [entry for entry in ENTRIES if len(by_entry.get(entry, {})) < 2]
        if missing:
            raise SystemExit(f"the {suite} records lack 2 trials of {', '.join(missing)} on {benchmark}")
    return scores, wall_seconds


def headlines(scores: Scores, benchmarks: list[str]) -> dict[str, dict[int, float]]:
    """entry -> trial -> the mean robust_score over the benchmarks, on trials run on all of them."""
    losses = set.intersection(*(set(scores[b]) for b in benchmarks))
    return {loss: headline_per_trial({b: scores[b][loss] for b in benchmarks}, benchmarks) for loss in sorted(losses)}


def pair_spread(by_loss: dict[str, dict[int, float]], a: str, b: str) -> tuple[Estimate, float]:
    """a - b paired over their shared trials, and the sd the difference would have on independent trials.

    Unpaired, a difference of two entries has variance sd_a^2 + sd_b^2, each sd taken here over the same shared
    trials, so that the two figures differ only by the pairing.
    """
    shared = sorted(by_loss[a].keys() & by_loss[b].keys())
    spread_a = estimate([by_loss[a][seed] for seed in shared]).sd
    spread_b = estimate([by_loss[b][seed] for seed in shared]).sd
    return paired_difference(by_loss[a], by_loss[b]), math.hypot(spread_a, spread_b)


def pooled_sds(by_loss: dict[str, dict[int, float]]) -> tuple[float, float, int]:
    """Over the pairs of ENTRIES: the pooled sd of paired differences, of unpaired ones, and the degrees of freedom.

    Each pair's variance is weighted by its degrees of freedom (shared trials - 1).
    """
    paired = unpaired = 0.0
    dof = 0
    for a, b in itertools.combinations(ENTRIES, 2):
        difference, unpaired_sd = pair_spread(by_loss, a, b)
        paired += (difference.n - 1) * difference.sd**2
        unpaired += (difference.n - 1) * unpaired_sd**2
        dof += difference.n - 1
    return math.sqrt(paired / dof), math.sqrt(unpaired / dof), dof


def spread_table(scores: Scores, benchmarks: list[str]) -> str:
    lines = [
        "| scope | df | sd of paired differences | sd if unpaired | variance left by pairing | "
        + " | ".join(f"detectable, K={k}" for k in TRIAL_COUNTS)
        + " |",
        "|---" * (5 + len(TRIAL_COUNTS)) + "|",
    ]
    scopes = {benchmark: scores[benchmark] for benchmark in benchmarks} | {"headline": headlines(scores, benchmarks)}
    for scope, by_loss in scopes.items():
        paired, unpaired, dof = pooled_sds(by_loss)
        detectable = [f"{detectable_difference(paired, k):.4f}" for k in TRIAL_COUNTS]
        lines.append(
            f"| {scope} | {dof} | {paired:.4f} | {unpaired:.4f} | {(paired / unpaired) ** 2:.0%} | "
            + " | ".join(detectable)
            + " |"
        )
    return "\n".join(lines)


def pair_table(scores: Scores, benchmarks: list[str]) -> str:
    scopes = {benchmark: scores[benchmark] for benchmark in benchmarks} | {"headline": headlines(scores, benchmarks)}
    lines = ["| pair (a - b) | trials | " + " | ".join(scopes) + " |", "|---" * (2 + len(scopes)) + "|"]
    for a, b in itertools.combinations(ENTRIES, 2):
        spreads = [pair_spread(by_loss, a, b) for by_loss in scopes.values()]
        cells = [f"{d.mean:+.4f} ± {d.half_width:.4f} (sd {d.sd:.4f}; unpaired {u:.4f})" for d, u in spreads]
        lines.append(f"| {a} - {b} | {spreads[-1][0].n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ranking_table(scores: Scores, benchmarks: list[str]) -> str:
    by_loss = headlines(scores, benchmarks)
    ranks = rank_intervals(by_loss)
    shown = {loss: estimate(list(trials.values())) for loss, trials in by_loss.items()}
    lines = [
        "| rank (places it could hold) | entry | trials | headline (mean ± 95 % half-width) |",
        "|---|---|---|---|",
    ]
    for loss in sorted(shown, key=lambda name: -shown[name].mean):
        headline, rank = shown[loss], ranks[loss]
        lines.append(
            f"| {rank.best}–{rank.worst} | {loss} | {headline.n} | {headline.mean:.4f} ± {headline.half_width:.4f} |"
        )
    return "\n".join(lines)


def trials_needed_line(scores: Scores, benchmarks: list[str]) -> str:
    """The fewest trials that detect each of GAPS on the headline with 80 % power, at the pooled sd."""
    paired, _, _ = pooled_sds(headlines(scores, benchmarks))
    needed = []
    for gap in GAPS:
        trials = 2
        while detectable_difference(paired, trials) > gap:
            trials += 1
        needed.append(f"{gap} needs {trials}")
    return f"Headline, sd of paired differences {paired:.4f}: " + "; ".join(needed) + " trials."


def wall_time_line(wall_seconds: dict[str, list[float]]) -> str:
    medians = {benchmark: statistics.median(seconds) for benchmark, seconds in wall_seconds.items()}
    listed = ", ".join(f"{benchmark} {seconds:.0f} s" for benchmark, seconds in medians.items())
    runs = sum(len(seconds) for seconds in wall_seconds.values())
    return (
        f"Median wall time of the {runs} recorded runs: {listed}; "
        f"one trial of one entry = {sum(medians.values()):.0f} s."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default=Suite.PROXY.value, choices=[Suite.PROXY.value, Suite.SMOKE.value])
    args = parser.parse_args()
    benchmarks = benchmark_names(args.suite)
    scores, wall_seconds = load_scores(args.suite, benchmarks)
    pairs = len(ENTRIES) * (len(ENTRIES) - 1) // 2
    print(
        f"The {args.suite} board's entries from its recorded results; pooled over the {pairs} pairs of "
        f"{', '.join(ENTRIES)}; detectable = the smallest true mean difference a two-sided paired t-test over K "
        "trials finds with 80 % power at the 5 % level."
    )
    print()
    print(spread_table(scores, benchmarks))
    print()
    print(trials_needed_line(scores, benchmarks))
    print()
    print("Each pair: mean paired difference ± 95 % half-width (sd of the paired differences; sd if unpaired).")
    print()
    print(pair_table(scores, benchmarks))
    print()
    print("Every entry on the headline with its rank interval (Holm over its paired comparisons at 95 %).")
    print()
    print(ranking_table(scores, benchmarks))
    print()
    print(wall_time_line(wall_seconds))


if __name__ == "__main__":
    main()
