"""Simulated boards: the service's extra-trials design against fixed numbers of trials: how often an entry's rank
interval claims a difference between equal entries, and how often it finds a true gap.

A board has --entries entries; trial t gives entry e the score mu_e + s_t + noise, so a paired difference between
two entries has sd --sd-difference (the trial effect s_t cancels). The board's own code decides everything:
scoring.statistics.rank_intervals (Holm over each entry's paired comparisons, the sd floor) and, for the
sequential design, scoring.leaderboard.open_entries picking which entry gets the next trial and
scoring.statistics.look_levels spending alpha over the looks.

- fixed K: every entry K trials, one look at alpha = 0.05.
- sequential K..most: every entry K trials; then, one trial at a time, the most open entry (its rank interval
  shares places with the leader's or a neighbour's) gets another, until none is open or all have --max-trials.
  Each trial count is a look at its share of alpha (0.035 at K, 0.0125 at the most, the rest evenly between); a
  claim made at any look stands.
- fixed at the sequential design's mean number of runs per entry (rounded up): the comparison at equal cost.

Prints, for equal entries, the share of entries whose interval claims anything (each interval promises at most
5 %) and of boards with any claim; for one entry better by --gap, the share of its five pairs claimed and of boards
where it is shown first outright (interval 1-1), and the runs spent.

    python benchmarks/sequential_trials.py --boards 2000 --sd-difference 0.012 --gap 0.01
"""

import argparse
import math
from types import SimpleNamespace

import numpy as np

from scoring.leaderboard import open_entries
from scoring.statistics import RankInterval, look_levels, rank_intervals


def board(means: np.ndarray, trials: int, sd_difference: float, rng: np.random.Generator) -> np.ndarray:
    """(entries, trials) scores: a shared trial effect plus independent noise of sd sd_difference / sqrt(2)."""
    trial_effect = rng.normal(0.0, 0.02, size=trials)
    noise = rng.normal(0.0, sd_difference / math.sqrt(2), size=(len(means), trials))
    return means[:, None] + trial_effect[None, :] + noise


def ranks_of(scores: np.ndarray, trials: list[int], looks: dict | None) -> dict[int, RankInterval]:
    headlines = {e: {t + 1: float(scores[e, t]) for t in range(trials[e])} for e in range(len(trials))}
    return rank_intervals(headlines, looks)


def fixed(means: np.ndarray, trials: int, sd: float, rng: np.random.Generator) -> tuple[dict, int]:
    return ranks_of(board(means, trials, sd, rng), [trials] * len(means), None), trials * len(means)


def sequential(means: np.ndarray, first: int, most: int, sd: float, rng: np.random.Generator) -> tuple[dict, int]:
    scores = board(means, most, sd, rng)
    trials, looks = [first] * len(means), look_levels(first, most)
    while True:
        ranks = ranks_of(scores, trials, looks)
        mean = [scores[e, : trials[e]].mean() for e in range(len(means))]
        shown = [
            SimpleNamespace(rank=ranks[e], trials_complete=trials[e], submission=SimpleNamespace(id=e, recorded=False))
            for e in sorted(range(len(means)), key=lambda e: -mean[e])
        ]  # what open_entries reads of a board's entries, in board order
        chosen = open_entries(shown, most)  # type: ignore[arg-type]
        if not chosen:
            return ranks, sum(trials)
        trials[chosen[0].submission.id] += 1


def summary(name: str, outcomes: list[tuple[dict, int]], entries: int, better: int | None) -> str:
    runs = np.mean([spent for _, spent in outcomes]) / entries
    if better is None:
        claimed = [rank != RankInterval(1, entries) for ranks, _ in outcomes for rank in ranks.values()]
        boards = np.mean([any(rank != RankInterval(1, entries) for rank in ranks.values()) for ranks, _ in outcomes])
        return f"| {name} | {runs:.2f} | {np.mean(claimed):.1%} of entries, {boards:.1%} of boards | |"
    pairs = np.mean([(entries - ranks[better].worst) / (entries - 1) for ranks, _ in outcomes])
    first = np.mean([ranks[better] == RankInterval(1, 1) for ranks, _ in outcomes])
    wrong = np.mean([ranks[better].best > 1 for ranks, _ in outcomes])
    return f"| {name} | {runs:.2f} | {pairs:.1%} of its pairs, first outright on {first:.1%} | {wrong:.1%} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", type=int, default=2000)
    parser.add_argument("--entries", type=int, default=6)
    parser.add_argument("--first", type=int, default=5, help="trials every entry runs (the suite's K)")
    parser.add_argument("--max-trials", type=int, default=10)
    parser.add_argument("--sd-difference", type=float, default=0.012, help="sd of one paired difference")
    parser.add_argument("--gap", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    print(
        f"{args.boards} boards of {args.entries} entries, paired-difference sd {args.sd_difference}, "
        f"K = {args.first}, at most {args.max_trials} trials\n"
    )
    for label, gap in (("equal entries", 0.0), (f"one entry better by {args.gap}", args.gap)):
        means = np.zeros(args.entries)
        means[0] = gap
        better = 0 if gap else None
        boards = range(args.boards)
        added = [sequential(means, args.first, args.max_trials, args.sd_difference, rng) for _ in boards]
        matched = math.ceil(np.mean([spent for _, spent in added]) / args.entries)
        designs = [
            (f"fixed K = {args.first}", [fixed(means, args.first, args.sd_difference, rng) for _ in boards]),
            (f"sequential {args.first}..{args.max_trials}", added),
            (f"fixed K = {matched} (the sequential cost)", [fixed(means, matched, args.sd_difference, rng)
                                                            for _ in boards]),
        ]  # fmt: skip
        print(f"### {label}\n\n| design | trials per entry | claims | the better entry claimed below another |")
        print("|---|---|---|---|")
        print("\n".join(summary(name, outcomes, args.entries, better) for name, outcomes in designs) + "\n")


if __name__ == "__main__":
    main()
