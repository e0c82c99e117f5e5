"""Scores as statistics over paired trials: means with t-intervals, paired differences, ranks and power.

A trial is one (training seed, poison seed) pair, and trial k of a suite is the same pair for every entry, so two
entries' scores on trial k share that trial's noise (which samples were flipped, the initialisation, the order) and
their difference cancels it. Everything here is plain arithmetic on floats keyed by trial index, on scipy.stats:
no database, no torch. The design and the measured figures behind it: docs/statistics.md.
"""

import math
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from scipy import optimize, stats

TrialKey = int  # a trial's index in its suite, from 1
EntryId = TypeVar("EntryId", bound=Hashable)  # whatever names an entry of the board: a submission id, a loss name

# One trial has no spread, so no interval: with fewer shared trials than this no claim is made either way.
MIN_TRIALS_FOR_A_CLAIM = 2
# The smallest sd a paired difference is taken to have, whatever its trials show. Scores move in steps of one test
# image, so a difference that is the same on 2-3 trials (sd 0) is not evidence of no noise; the smallest sd of paired
# headline differences measured between two different losses is 0.0012 (docs/statistics.md), so this floor widens
# no measured pair of losses and keeps a constant one-image gain (about 0.0003 on a headline) from being a claim.
PAIRED_SD_FLOOR = 0.001
# rank_intervals compares this many entries with all others at once: 64 x 1,000 entries x 10 trials is 5 MB
_ROWS_PER_BLOCK = 64


@dataclass(frozen=True)
class Estimate:
    """One statistic (a mean, or a mean paired difference) over n trials, with its two-sided t-interval.

    `sd` is the sample standard deviation (ddof=1). With n < 2 there is no spread to estimate, so `sd` and the
    interval are None: the mean alone, which claims nothing. With sd == 0 and n >= 2 (every value equal) the
    interval of a mean collapses to it: the data show no spread, and the t-interval takes them at their word. A
    paired difference's interval does not (`paired_difference`'s floor): that is where claims are made.
    """

    n: int
    mean: float
    sd: float | None
    ci_low: float | None
    ci_high: float | None

    @property
    def half_width(self) -> float | None:
        """What a page shows as mean ± half-width: the interval's wider side (the t half-width unless the interval
        was clipped to the metric's range on both sides); None when n < 2."""
        if self.ci_low is None or self.ci_high is None:
            return None
        return max(self.mean - self.ci_low, self.ci_high - self.mean)


def estimate(values: Sequence[float], confidence: float = 0.95, bounds: tuple[float, float] | None = None) -> Estimate:
    """The mean of `values` (one per trial) with its two-sided Student t-interval at `confidence`.

    The interval is mean ± t_{(1+confidence)/2, n-1} · sd / √n: the trials are a sample of the suite's possible
    seeds, and with 2-10 of them the t quantile, not the normal one, gives the stated coverage.
    Raises ValueError for no values, a NaN or infinite value, or a confidence outside (0, 1).
    """
    return estimates([values], confidence, bounds)[0]


def estimates(
    samples: Sequence[Sequence[float]], confidence: float = 0.95, bounds: tuple[float, float] | None = None
) -> list[Estimate]:
    """`estimate` of each sample, computed in one numpy pass: a board computes thousands of them at once, and one
    t quantile per call was most of its time.

    With `bounds` (the metric's range, (0, 1) for every score of a board) each interval is clipped to it: the
    t-interval is symmetric and knows nothing of the range, and a mean of values in [0, 1] cannot lie outside it.
    """
    _check_confidence(confidence)
    for values in samples:
        if len(values) == 0:
            raise ValueError("no values: an estimate needs at least one trial")
        _check_finite(values, "value")
    table = np.full((len(samples), max(map(len, samples), default=0)), np.nan)
    for row, values in enumerate(samples):
        table[row, : len(values)] = values
    n, mean, sd, half = _intervals(table, confidence)
    return [
        _as_estimate(int(count), float(average), float(spread), float(width), bounds)
        for count, average, spread, width in zip(n, mean, sd, half, strict=True)
    ]


def headline_per_trial(
    cells: Mapping[str, Mapping[TrialKey, float]], benchmarks: Sequence[str]
) -> dict[TrialKey, float]:
    """One entry's headline score on each trial: the mean robust_score over all of the suite's benchmarks.

    `cells` maps benchmark -> trial -> robust_score. Only trials complete on every benchmark in `benchmarks` get a
    headline: a trial missing one benchmark would be an average over a different set of tasks, not comparable with
    another entry's. Benchmarks in `cells` outside `benchmarks` are ignored. Raises ValueError for an empty
    `benchmarks` or a NaN or infinite score.
    """
    if not benchmarks:
        raise ValueError("no benchmarks: a headline is the mean over the suite's benchmarks")
    for benchmark in benchmarks:
        _check_finite(cells.get(benchmark, {}).values(), f"robust_score on {benchmark}")
    complete = set.intersection(*(set(cells.get(benchmark, {})) for benchmark in benchmarks))
    return {
        trial: math.fsum(cells[benchmark][trial] for benchmark in benchmarks) / len(benchmarks)
        for trial in sorted(complete)
    }


def paired_difference(
    a: Mapping[TrialKey, float],
    b: Mapping[TrialKey, float],
    confidence: float = 0.95,
    sd_floor: float = PAIRED_SD_FLOOR,
) -> Estimate:
    """The mean of a[k] - b[k] over the trials k both have, with its t-interval (a paired t-interval) whose sd is
    at least `sd_floor` (PAIRED_SD_FLOOR: no spread over a few trials is not evidence of no noise).

    Trials only one of them has are left out: they carry no information about the difference on a shared trial.
    `sd` stays the measured one; only the interval uses the floor. Raises ValueError when they share no trial, or
    for a NaN or infinite score.
    """
    _check_confidence(confidence)
    _check_finite(a.values(), "score")
    _check_finite(b.values(), "score")
    shared = sorted(a.keys() & b.keys())
    if not shared:
        raise ValueError("the two entries share no trial: a paired difference needs at least one")
    table = np.array([[a[trial] - b[trial] for trial in shared]])
    n, mean, sd, half = _intervals(table, confidence, sd_floor)
    return _as_estimate(int(n[0]), float(mean[0]), float(sd[0]), float(half[0]), None)


def _holm_rows(p: np.ndarray, alpha: float) -> np.ndarray:
    """Holm's step-down procedure on each row of `p` (one family per row): which tests are rejected with
    family-wise error <= alpha.

    Sorted ascending, the i-th smallest p-value (from 0) is rejected while p <= alpha / (m - i); the first that is
    not stops the procedure. Valid under any dependence between the tests, which paired comparisons sharing one
    entry have. An infinite p-value stands for a test that cannot be made (fewer than 2 shared trials): it is left
    out of the family and never rejected.
    """
    family = np.isfinite(p).sum(axis=1, keepdims=True)
    order = np.argsort(p, axis=1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=1)
    with np.errstate(divide="ignore"):
        thresholds = alpha / (family - np.arange(p.shape[1])[None, :])
    passes = np.isfinite(ranked) & (ranked <= thresholds)
    rejected = np.zeros_like(passes)
    np.put_along_axis(rejected, order, np.cumprod(passes, axis=1).astype(bool), axis=1)
    return rejected


@dataclass(frozen=True)
class RankInterval:
    """The places an entry could hold among the ranked entries: 1 + the entries shown better, N - the entries
    shown worse. best == worst is a claim of that exact place; 1..N claims nothing."""

    best: int
    worst: int


# With extra trials (docs/statistics.md, "Extra trials"), the shares of alpha spent at the look after the suite's
# K trials and at the look after the most trials; the rest is split evenly over the looks between. Simulated in
# benchmarks/sequential_trials.py: near-equal entries run to the most trials, so the last look carries weight.
FIRST_LOOK_SHARE, LAST_LOOK_SHARE = 0.7, 0.25

Looks = Mapping[TrialKey, float]  # look at the trials keyed <= k -> the alpha it may spend


def look_levels(first: int, most: int, alpha: float = 0.05) -> dict[TrialKey, float]:
    """The looks of a board that may add trials after its first `first` ones, up to `most`: alpha at one look over
    every trial when none are added; else FIRST_LOOK_SHARE of it at `first`, LAST_LOOK_SHARE at `most` and the
    rest split evenly over the trial counts between. The levels sum to alpha, so by the union bound a claim made at
    any look keeps the design's family-wise error at most alpha whatever decided to add trials (a Bonferroni
    alpha-spending design)."""
    if most <= first:
        return {ALL_TRIALS: alpha}
    between = range(first + 1, most)
    last = LAST_LOOK_SHARE if between else 1 - FIRST_LOOK_SHARE
    levels = {first: alpha * FIRST_LOOK_SHARE}
    levels |= {n: alpha * (1 - FIRST_LOOK_SHARE - LAST_LOOK_SHARE) / len(between) for n in between}
    return levels | {most: alpha * last}


ALL_TRIALS = 2**62  # a look over every trial: no trial key reaches it


def rank_intervals(
    headlines: Mapping[EntryId, Mapping[TrialKey, float]],
    looks: Looks | None = None,
    sd_floor: float = PAIRED_SD_FLOOR,
    elsewhere: Collection[EntryId] = (),
) -> dict[EntryId, RankInterval]:
    """Each entry's rank interval from its paired comparisons with every other entry, family-wise at 95 %.

    `headlines` maps entry -> trial -> headline score; pass only entries that may be ranked (complete, current
    trials). For one entry the family is its N - 1 paired t-tests (floored sd, as `paired_difference`), corrected
    with Holm; an entry is better or worse than it where a rejected test's mean difference says so. The interval
    then holds the entry's true place with probability >= 95 % (Al Mohamad et al.'s simultaneous ranks read per
    entry); a noisy entry gets a wide interval instead of rank 1. With `looks` (`look_levels`) each look tests the
    trials keyed up to it at its own level and a claim at any look stands. Pairs sharing fewer than 2 trials are
    never rejected. An entry in `elsewhere` (trained on another machine: recorded results) and one that is not are
    compared unpaired (`unpaired_difference`): the same seeds on two machines do not give the same run. In numpy
    blocks: a 1,000-entry board is a million pairs.
    """
    for entry, scores in headlines.items():
        _check_finite(scores.values(), f"headline of {entry!r}")
    entries = list(headlines)
    if not entries:
        return {}
    trials = sorted(set().union(*(headlines[entry].keys() for entry in entries)))
    column = {trial: index for index, trial in enumerate(trials)}
    table = np.full((len(entries), len(trials)), np.nan)  # NaN: the entry has no headline on that trial
    for row, entry in enumerate(entries):
        for trial, score in headlines[entry].items():
            table[row, column[trial]] = score
    away = np.array([entry in elsewhere for entry in entries])
    better = np.zeros(len(entries), dtype=int)
    worse = np.zeros(len(entries), dtype=int)
    for first in range(0, len(entries), _ROWS_PER_BLOCK):
        # (i, j, k): entry j and entry first + i on trial k; j - (first + i) is what is tested
        block = slice(first, first + _ROWS_PER_BLOCK)
        them = np.broadcast_to(table[None, :, :], (len(table[block]), *table.shape)).copy()
        rows = np.arange(them.shape[0])
        them[rows, first + rows] = np.nan  # an entry is not compared with itself
        us = np.broadcast_to(table[block, None, :], them.shape)
        unpaired = away[None, :] != away[block, None]
        claims = _claims(them, us, unpaired, np.array(trials), looks or {ALL_TRIALS: 0.05}, sd_floor)
        better[first : first + _ROWS_PER_BLOCK] = (claims > 0).sum(axis=1)
        worse[first : first + _ROWS_PER_BLOCK] = (claims < 0).sum(axis=1)
    return {
        entry: RankInterval(best=1 + int(up), worst=len(entries) - int(down))
        for entry, up, down in zip(entries, better, worse, strict=True)
    }


def family_claims(
    pairs: Sequence[tuple[Mapping[TrialKey, float], Mapping[TrialKey, float]]],
    looks: Looks | None = None,
    sd_floor: float = PAIRED_SD_FLOOR,
    unpaired: Sequence[bool] = (),
) -> list[int]:
    """For comparisons a - b shown together (one family): +1 (a better) or -1 (a worse) where Holm's procedure over
    all of them rejects "no difference" at 95 % family-wise (at any of `looks`), else 0. Comparisons flagged in
    `unpaired` are Welch tests of the two sets of trials (`unpaired_difference`), the others paired t-tests."""
    for a, b in pairs:
        _check_finite(a.values(), "score")
        _check_finite(b.values(), "score")
    trials = sorted(set().union(*(a.keys() | b.keys() for a, b in pairs)))
    ours, theirs = (np.full((1, len(pairs), len(trials)), np.nan) for _ in range(2))
    for test, (a, b) in enumerate(pairs):
        for index, trial in enumerate(trials):
            ours[0, test, index] = a.get(trial, np.nan)
            theirs[0, test, index] = b.get(trial, np.nan)
    flags = np.array([list(unpaired) or [False] * len(pairs)], dtype=bool).reshape(1, len(pairs))
    return _claims(ours, theirs, flags, np.array(trials), looks or {ALL_TRIALS: 0.05}, sd_floor)[0].tolist()


def unpaired_difference(
    a: Mapping[TrialKey, float], b: Mapping[TrialKey, float], sd_floor: float = PAIRED_SD_FLOOR
) -> Estimate:
    """mean(a) - mean(b) with Welch's 95 % interval, for entries whose trials are not pairs (one trained on another
    machine): each mean's own spread, floored as a paired difference's, adds up. n is the smaller trial count; sd
    is None (there is no single spread of a difference). Fewer than 2 trials on either side: the difference alone.
    """
    _check_finite(a.values(), "score")
    _check_finite(b.values(), "score")
    if not a or not b:
        raise ValueError("an unpaired difference needs at least one trial on each side")
    n, mean, half, _ = _welch(
        np.array([list(a.values())], dtype=float), np.array([list(b.values())], dtype=float), sd_floor
    )
    if n[0] < MIN_TRIALS_FOR_A_CLAIM:
        return Estimate(n=int(n[0]), mean=float(mean[0]), sd=None, ci_low=None, ci_high=None)
    return Estimate(
        n=int(n[0]), mean=float(mean[0]), sd=None, ci_low=float(mean[0] - half[0]), ci_high=float(mean[0] + half[0])
    )


def _welch(a: np.ndarray, b: np.ndarray, sd_floor: float) -> tuple[np.ndarray, ...]:
    """Over the last axis (NaN = no value): the smaller n, mean(a) - mean(b), Welch's 95 % half-width and p-value
    (Welch-Satterthwaite degrees of freedom), each sample's sd floored at `sd_floor`; p is infinite (no test) where
    either side has fewer than 2 values."""
    n_a, mean_a, sd_a, _ = _intervals(a, 0.95)
    n_b, mean_b, sd_b, _ = _intervals(b, 0.95)
    share_a = np.maximum(sd_a, sd_floor) ** 2 / np.maximum(n_a, 1)
    share_b = np.maximum(sd_b, sd_floor) ** 2 / np.maximum(n_b, 1)
    se = np.sqrt(share_a + share_b)
    dof = (share_a + share_b) ** 2 / (share_a**2 / np.maximum(n_a - 1, 1) + share_b**2 / np.maximum(n_b - 1, 1))
    mean = mean_a - mean_b
    p = 2 * stats.t.sf(np.abs(mean) / se, dof)
    testable = (n_a >= MIN_TRIALS_FOR_A_CLAIM) & (n_b >= MIN_TRIALS_FOR_A_CLAIM)
    return np.minimum(n_a, n_b), mean, stats.t.ppf(0.975, dof) * se, np.where(testable, p, np.inf)


def _claims(
    ours: np.ndarray,
    theirs: np.ndarray,
    unpaired: np.ndarray,
    trial_keys: np.ndarray,
    looks: Looks,
    sd_floor: float,
) -> np.ndarray:
    """Over (families, tests, trials) of two entries' scores (NaN: no value): +1 / -1 where the test of ours -
    theirs is rejected at some look with the difference above / below 0 (Holm within each family at the look's
    level), else 0. A test is paired over the shared trials, or Welch's where `unpaired` (families, tests) says so.
    A look sees the trials keyed up to it; one that adds no trial to the previous is skipped."""
    claims = np.zeros(ours.shape[:2], dtype=int)
    seen = -1
    for last, level in sorted(looks.items()):
        visible = int((trial_keys <= last).sum())
        if visible == seen:
            continue
        seen = visible
        a, b = ours[:, :, :visible], theirs[:, :, :visible]
        n, mean, sd, _ = _intervals(a - b, 0.95, sd_floor)
        p = _p_values(n, mean, sd, sd_floor)
        p[n < MIN_TRIALS_FOR_A_CLAIM] = np.inf  # a pair without 2 shared trials cannot be tested: not in the family
        if unpaired.any():
            _, welch_mean, _, welch_p = _welch(a, b, sd_floor)
            mean, p = np.where(unpaired, welch_mean, mean), np.where(unpaired, welch_p, p)
        rejected = _holm_rows(p, level) & (claims == 0)
        claims[rejected] = np.sign(mean[rejected]).astype(int)
    return claims


def is_provisional(headline: Mapping[TrialKey, float], suite_trials: int) -> bool:
    """An entry is provisional while it has fewer complete trials than its suite runs (and always below 2).

    Its mean is shown, but it gets no rank: with one trial nothing can be said against any other entry, and with
    fewer trials than the others its comparisons rest on fewer pairs than the suite promises.
    """
    return len(headline) < max(MIN_TRIALS_FOR_A_CLAIM, suite_trials)


def tied_ranks(scores: Mapping[EntryId, float]) -> dict[EntryId, float]:
    """Rank 1 for the highest score; entries with equal scores share the mean of the ranks they span."""
    _check_finite(scores.values(), "score")
    entries = list(scores)
    ranks = stats.rankdata([-scores[entry] for entry in entries], method="average")
    return {entry: float(rank) for entry, rank in zip(entries, ranks, strict=True)}


def average_ranks(scores: Mapping[EntryId, Mapping[str, float]], benchmarks: Sequence[str]) -> dict[EntryId, float]:
    """Each entry's mean over `benchmarks` of its `tied_ranks` rank by score on that benchmark.

    `scores` maps entry -> benchmark -> score (the board's robust_score per benchmark, a mean over its trials).
    The board's secondary column as it has always been: ranks of point values, no intervals, so no claim of noise.
    Raises ValueError for an empty `benchmarks` or an entry without a score on one of them.
    """
    if not benchmarks:
        raise ValueError("no benchmarks: an average rank is a mean over the suite's benchmarks")
    for entry, by_benchmark in scores.items():
        missing = [benchmark for benchmark in benchmarks if benchmark not in by_benchmark]
        if missing:
            raise ValueError(f"entry {entry!r} has no score on {', '.join(missing)}: only complete entries are ranked")
    per_benchmark = [tied_ranks({entry: scores[entry][b] for entry in scores}) for b in benchmarks]
    return {entry: math.fsum(ranks[entry] for ranks in per_benchmark) / len(benchmarks) for entry in scores}


def detectable_difference(
    sd_of_paired_differences: float, trials: int, power: float = 0.8, alpha: float = 0.05
) -> float:
    """The smallest true mean paired difference a two-sided paired t-test over `trials` trials detects with `power`.

    The test statistic of a true difference d is noncentral t with trials - 1 degrees of freedom and noncentrality
    d·√trials / sd; its power is the chance of landing beyond ±t_{1-alpha/2, trials-1}. The effect in sd units that
    gives `power` is found with brentq (power rises with the effect from alpha at 0). For large `trials` the answer
    tends to (z_{1-alpha/2} + z_{power})·sd/√trials, 2.8016·sd/√trials at the defaults.
    Returns 0 when the sd is 0 (any difference is then seen). Raises ValueError for trials < 2, a negative or
    non-finite sd, alpha outside (0, 1) or power outside (alpha, 1).
    """
    if trials < MIN_TRIALS_FOR_A_CLAIM:
        raise ValueError(f"trials={trials}: a paired t-test needs at least {MIN_TRIALS_FOR_A_CLAIM} trials")
    if not math.isfinite(sd_of_paired_differences) or sd_of_paired_differences < 0:
        raise ValueError(f"sd_of_paired_differences={sd_of_paired_differences}: must be a finite number >= 0")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha}: must lie in (0, 1)")
    if not alpha < power < 1:
        raise ValueError(f"power={power}: must lie in (alpha, 1) = ({alpha}, 1)")
    if sd_of_paired_differences == 0:
        return 0.0
    dof = trials - 1
    critical = stats.t.ppf(1 - alpha / 2, dof)

    def power_short_by(effect_in_sd: float) -> float:
        noncentrality = effect_in_sd * math.sqrt(trials)
        # P(T < -critical) written as P(T > critical) at -noncentrality (the same by symmetry): scipy's nct.cdf
        # returns NaN that far in the lower tail (1.17, dof 1, noncentrality 11.3), its sf does not.
        reached = stats.nct.sf(critical, dof, noncentrality) + stats.nct.sf(critical, dof, -noncentrality)
        return reached - power

    upper = 1.0
    while power_short_by(upper) < 0:
        upper *= 2
    return optimize.brentq(power_short_by, 0.0, upper, xtol=1e-12) * sd_of_paired_differences


def _intervals(samples: np.ndarray, confidence: float, sd_floor: float = 0.0) -> tuple[np.ndarray, ...]:
    """Over the last axis of `samples` (trials; NaN = no value): n, mean, sample sd and t-interval half-width, the
    half-width from an sd of at least `sd_floor`.

    Where n < 2 the sd and half-width are meaningless; callers read them only where n >= 2. The one place the
    interval is computed, so an Estimate and a rank can never disagree.
    """
    present = ~np.isnan(samples)
    n = present.sum(axis=-1)
    mean = np.where(present, samples, 0.0).sum(axis=-1) / np.maximum(n, 1)
    squares = np.where(present, (samples - mean[..., None]) ** 2, 0.0).sum(axis=-1)
    dof = np.maximum(n - 1, 1)
    sd = np.sqrt(squares / dof)
    half = stats.t.ppf((1 + confidence) / 2, dof) * np.maximum(sd, sd_floor) / np.sqrt(np.maximum(n, 1))
    return n, mean, sd, half


def _p_values(n: np.ndarray, mean: np.ndarray, sd: np.ndarray, sd_floor: float) -> np.ndarray:
    """Two-sided paired t-test p-values from n, mean and sd of the differences (sd floored); 1 where n < 2 or
    where mean and floored sd are both 0 (nothing to test)."""
    spread = np.maximum(sd, sd_floor) / np.sqrt(np.maximum(n, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(spread > 0, np.abs(mean) / np.where(spread > 0, spread, 1.0), np.where(mean != 0, np.inf, 0.0))
    p = 2 * stats.t.sf(t, np.maximum(n - 1, 1))
    return np.where(n >= MIN_TRIALS_FOR_A_CLAIM, p, 1.0)


def _as_estimate(n: int, mean: float, sd: float, half: float, bounds: tuple[float, float] | None) -> Estimate:
    if n < MIN_TRIALS_FOR_A_CLAIM:
        return Estimate(n=n, mean=mean, sd=None, ci_low=None, ci_high=None)
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return Estimate(n=n, mean=mean, sd=sd, ci_low=low, ci_high=high)


def _check_finite(values: Iterable[float], what: str) -> None:
    for value in values:
        if not math.isfinite(value):
            raise ValueError(f"a {what} is {value}: every score must be a finite number (a run that failed has none)")


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence={confidence}: must lie in (0, 1), e.g. 0.95")
