"""How many trials a suite needs: the measured spread of paired differences and the difference K trials detect.

Reads a suite's stored runs (one JSON per loss, benchmark and seed, made by loss_table.py; seed s was both the
training and the poison seed, so seed s of two losses is one paired trial; the proxy's are committed), and prints
markdown tables for docs/statistics.md:

1. per benchmark and for the headline (the mean over the suite's benchmarks), the sd of paired differences in
   robust_score between the CONTESTED losses, pooled over their pairs, beside the sd the same differences would
   have on unpaired seeds, and the smallest true difference K trials detect with 80 % power (K = 2, 3, 5, 10),
   and the fewest trials that detect the gaps seen between published top methods;
2. each contested pair's mean paired difference with its interval, its sd and the sd if unpaired;
3. every loss's headline over its trials with its 95 % interval and its noise-aware rank;
4. the stored runs' median wall time per benchmark, the cost of one trial of one entry.

    python benchmarks/power_analysis.py
    python benchmarks/power_analysis.py --suite official   # once official runs of CONTESTED are stored
"""

import argparse
import itertools
import json
import math
import re
import statistics
from pathlib import Path

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

# The four losses that fit at most 3 % of the flipped labels on every proxy benchmark (mean poison_fit over the
# stored seeds; mean robust_score 0.93-0.99 on each): the close contests a board has to settle are among entries
# like these. cross_entropy, symmetric_ce and bootstrap fit 5-13 % on at least two benchmarks; their spread
# measures whether memorisation sets in on a seed (sd up to 0.10 on VGG-16-BN), and they trail the four by 0.10 or
# more on the headline.
CONTESTED = ("generalized_ce", "truncated_gce_ce", "inverse_flip_correction", "reference")
TRIAL_COUNTS = (2, 3, 5, 10)
# The published top methods' headline scores differ from one another by 0.001 to 0.007 robust_score.
GAPS = (0.001, 0.003, 0.005, 0.007)
RESULT_FILE = re.compile(r"(?P<loss>.+)-seed(?P<seed>\d+)\.json")

Scores = dict[str, dict[str, dict[int, float]]]  # benchmark -> loss -> seed -> robust_score


def load_scores(results_dirs: list[Path], benchmarks: list[str]) -> tuple[Scores, dict[str, list[float]]]:
    """robust_score per benchmark, loss and seed, and the runs' wall seconds per benchmark, from every folder."""
    results_dir = results_dirs[0]
    scores: Scores = {}
    wall_seconds: dict[str, list[float]] = {}
    for benchmark in benchmarks:
        scores[benchmark], wall_seconds[benchmark] = {}, []
        for path in sorted(path for folder in results_dirs for path in (folder / benchmark).glob("*-seed*.json")):
            match = RESULT_FILE.fullmatch(path.name)
            result = json.loads(path.read_text())
            if result["seed"] != result["poison_seed"] or result["seed"] != int(match["seed"]):
                raise SystemExit(f"{path}: seed {result['seed']} / poison seed {result['poison_seed']} is no trial")
            scores[benchmark].setdefault(match["loss"], {})[result["seed"]] = result["metrics"][PRIMARY_METRIC]
            wall_seconds[benchmark].append(result["wall_seconds"])
        missing = [loss for loss in CONTESTED if len(scores[benchmark].get(loss, {})) < 2]
        if missing:
            raise SystemExit(
                f"{results_dir / benchmark} lacks 2 seeds of {', '.join(missing)}: run benchmarks/loss_table.py "
                f"--suite {results_dir.name} --losses {' '.join(CONTESTED)} --seeds 1 2 3 4 5 "
                f"--results-dir {results_dir.parent}"
            )
    return scores, wall_seconds


def headlines(scores: Scores, benchmarks: list[str]) -> dict[str, dict[int, float]]:
    """loss -> seed -> the mean robust_score over the benchmarks, on seeds run on all of them."""
    losses = set.intersection(*(set(scores[b]) for b in benchmarks))
    return {loss: headline_per_trial({b: scores[b][loss] for b in benchmarks}, benchmarks) for loss in sorted(losses)}


def pair_spread(by_loss: dict[str, dict[int, float]], a: str, b: str) -> tuple[Estimate, float]:
    """a - b paired over their shared seeds, and the sd the difference would have on independent seeds.

    Unpaired, a difference of two losses has variance sd_a^2 + sd_b^2, each sd taken here over the same shared
    seeds, so that the two figures differ only by the pairing.
    """
    shared = sorted(by_loss[a].keys() & by_loss[b].keys())
    spread_a = estimate([by_loss[a][seed] for seed in shared]).sd
    spread_b = estimate([by_loss[b][seed] for seed in shared]).sd
    return paired_difference(by_loss[a], by_loss[b]), math.hypot(spread_a, spread_b)


def pooled_sds(by_loss: dict[str, dict[int, float]]) -> tuple[float, float, int]:
    """Over the CONTESTED pairs: the pooled sd of paired differences, of unpaired ones, and the degrees of freedom.

    Each pair's variance is weighted by its degrees of freedom (shared seeds - 1).
    """
    paired = unpaired = 0.0
    dof = 0
    for a, b in itertools.combinations(CONTESTED, 2):
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
    for a, b in itertools.combinations(CONTESTED, 2):
        spreads = [pair_spread(by_loss, a, b) for by_loss in scopes.values()]
        cells = [f"{d.mean:+.4f} ± {d.half_width:.4f} (sd {d.sd:.4f}; unpaired {u:.4f})" for d, u in spreads]
        lines.append(f"| {a} - {b} | {spreads[-1][0].n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ranking_table(scores: Scores, benchmarks: list[str]) -> str:
    by_loss = headlines(scores, benchmarks)
    ranks = rank_intervals(by_loss)
    shown = {loss: estimate(list(trials.values())) for loss, trials in by_loss.items()}
    lines = ["| rank (places it could hold) | loss | trials | headline (mean ± 95 % half-width) |", "|---|---|---|---|"]
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
        f"Median wall time of the {runs} stored runs (one thread each): {listed}; "
        f"one trial of one entry = {sum(medians.values()):.0f} s."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default=Suite.PROXY.value, choices=[Suite.PROXY.value, Suite.OFFICIAL.value])
    parser.add_argument("--results-dir", type=Path, default=Path("benchmarks/results"), help="holds <suite>/")
    args = parser.parse_args()
    benchmarks = benchmark_names(args.suite)
    # The retired reference and the former reading of inverse-flip correction measure the seed-to-seed spread as
    # well as any loss does: their runs are kept apart (docs/published-methods.md, "History") and read here too.
    folders = [args.results_dir / args.suite, args.results_dir / "retired" / args.suite]
    scores, wall_seconds = load_scores(folders, benchmarks)
    pairs = len(CONTESTED) * (len(CONTESTED) - 1) // 2
    print(
        f"Pooled over the {pairs} pairs of {', '.join(CONTESTED)}; detectable = the smallest true mean difference "
        "a two-sided paired t-test over K trials finds with 80 % power at the 5 % level."
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
    print("Every loss on the headline, ranked by 1 + the number of losses significantly better.")
    print()
    print(ranking_table(scores, benchmarks))
    print()
    print(wall_time_line(wall_seconds))


if __name__ == "__main__":
    main()
