"""Simulated boards: how often a design of paired trials claims a difference between equal entries, and how often it
finds a true gap, for a fixed number of trials against adding trials where the order is still open.

A board has --entries entries that meet the same trials; trial t gives entry e the score mu_e + s_t + noise, so a
paired difference between two entries has sd --sd-difference (the trial effect s_t cancels). A claim is "a is
better than b", made when a paired t-test over the pair's shared trials rejects, Holm-corrected over every pair of
the board at the level in force (one family: the board's claims).

- fixed: K trials, one look at level alpha.
- sequential: the first look after K trials; then, while some pair with the leader is open (no claim) and fewer
  than --max-trials trials ran, one more trial for every entry and another look. Adding trials after looking
  inflates false claims under a fixed-level test, so each look k spends alpha_k of alpha by an O'Brien-Fleming-type
  spending function of the information fraction n_k / max-trials (Lan and DeMets 1983), and a claim at any look
  counts: by the union bound over looks the whole design's family-wise error stays at most alpha.
- fixed at the sequential design's mean number of trials (rounded up): the fair power comparison.

Prints the false-claim rate (equal entries: the share of boards with any claim) and the power (one entry better by
--gap: the share of its pairs claimed better, and of boards where it is claimed better than every other).

    python benchmarks/sequential_trials.py --boards 2000 --sd-difference 0.012 --gap 0.01
"""

import argparse
import itertools
import math

import numpy as np
from scipy import stats

ALPHA = 0.05


def obrien_fleming_spent(fraction: float, alpha: float = ALPHA) -> float:
    """alpha spent by information fraction t: 2 - 2 * Phi(z_{alpha/2} / sqrt(t)), Lan-DeMets' O'Brien-Fleming type."""
    return 2.0 - 2.0 * stats.norm.cdf(stats.norm.ppf(1 - alpha / 2) / math.sqrt(fraction))


def holm_claims(scores: np.ndarray, level: float) -> set[tuple[int, int]]:
    """(better, worse) pairs whose paired two-sided t-test rejects under Holm's step-down at `level`."""
    entries, trials = scores.shape
    tests = []
    for a, b in itertools.combinations(range(entries), 2):
        differences = scores[a] - scores[b]
        spread = differences.std(ddof=1) / math.sqrt(trials)
        t = differences.mean() / spread
        tests.append((2 * stats.t.sf(abs(t), trials - 1), (a, b) if t > 0 else (b, a)))
    tests.sort()
    claims = set()
    for rank, (p_value, pair) in enumerate(tests):
        if p_value > level / (len(tests) - rank):
            break
        claims.add(pair)
    return claims


def board(means: np.ndarray, trials: int, sd_difference: float, rng: np.random.Generator) -> np.ndarray:
    """(entries, trials) scores: a shared trial effect plus independent noise of sd sd_difference / sqrt(2)."""
    trial_effect = rng.normal(0.0, 0.02, size=trials)
    noise = rng.normal(0.0, sd_difference / math.sqrt(2), size=(len(means), trials))
    return means[:, None] + trial_effect[None, :] + noise


def fixed_design(means: np.ndarray, trials: int, sd: float, rng: np.random.Generator) -> tuple[set, int]:
    return holm_claims(board(means, trials, sd, rng), ALPHA), trials


def sequential_design(means: np.ndarray, first: int, most: int, sd: float, rng: np.random.Generator) -> tuple[set, int]:
    """Claims made at any look, and the trials run; stops once every pair with the leader (best mean) is decided."""
    scores = board(means, most, sd, rng)
    claims: set[tuple[int, int]] = set()
    spent = 0.0
    for trials in range(first, most + 1):
        level = obrien_fleming_spent(trials / most) - spent
        spent += level
        seen = scores[:, :trials]
        claims |= holm_claims(seen, level)
        leader = int(np.argmax(seen.mean(axis=1)))
        open_pairs = [e for e in range(len(means)) if e != leader and (leader, e) not in claims]
        if not open_pairs:
            return claims, trials
    return claims, most


def summarise(name: str, outcomes: list[tuple[set, int]], better: int | None, entries: int) -> str:
    trials = np.mean([n for _, n in outcomes])
    if better is None:
        rate = np.mean([bool(claims) for claims, _ in outcomes])
        return f"| {name} | {trials:.2f} | false claims on {rate:.1%} of boards | |"
    pairs = [
        sum((better, e) in claims for e in range(entries) if e != better) / (entries - 1) for claims, _ in outcomes
    ]
    everyone = np.mean([p == 1.0 for p in pairs])
    wrong = np.mean([any(pair[1] == better for pair in claims) for claims, _ in outcomes])
    return f"| {name} | {trials:.2f} | {np.mean(pairs):.1%} of its pairs claimed, all on {everyone:.1%} | {wrong:.1%} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", type=int, default=2000)
    parser.add_argument("--entries", type=int, default=6)
    parser.add_argument("--first", type=int, default=5, help="trials before the first look (the suite's K)")
    parser.add_argument("--max-trials", type=int, default=10)
    parser.add_argument("--sd-difference", type=float, default=0.012, help="sd of one paired difference")
    parser.add_argument("--gap", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    print(
        f"{args.boards} boards of {args.entries} entries, paired-difference sd {args.sd_difference}, "
        f"K = {args.first}, at most {args.max_trials} trials, alpha {ALPHA} family-wise (Holm over the board's pairs)\n"
    )
    for label, gap in (("equal entries", 0.0), (f"one entry better by {args.gap}", args.gap)):
        means = np.zeros(args.entries)
        means[0] = gap
        better = 0 if gap else None
        boards = range(args.boards)
        sequential = [sequential_design(means, args.first, args.max_trials, args.sd_difference, rng) for _ in boards]
        matched = math.ceil(np.mean([n for _, n in sequential]))
        designs = [
            (f"fixed K = {args.first}", [fixed_design(means, args.first, args.sd_difference, rng) for _ in boards]),
            (f"sequential {args.first}..{args.max_trials}", sequential),
            (f"fixed K = {matched}, the sequential mean", [fixed_design(means, matched, args.sd_difference, rng)
                                                          for _ in boards]),
        ]  # fmt: skip
        rows = [summarise(name, outcomes, better, args.entries) for name, outcomes in designs]
        print(f"### {label}\n\n| design | mean trials | claims | the better entry claimed worse |\n|---|---|---|---|")
        print("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
