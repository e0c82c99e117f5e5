"""Scores as statistics over paired trials: means with t-intervals, paired differences, ranks and power.

A trial is one (training seed, poison seed) pair, and trial k of a suite is the same pair for every entry, so two
entries' scores on trial k share that trial's noise (which samples were flipped, the initialisation, the order) and
their difference cancels it. Everything here is plain arithmetic on floats keyed by trial index, on scipy.stats:
no database, no torch. The design and the measured figures behind it: docs/statistics.md.
"""

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
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


def paired_p_value(difference: Estimate, sd_floor: float = PAIRED_SD_FLOOR) -> float:
    """The two-sided paired t-test's p-value of "no difference" for a paired difference; infinite below 2 trials,
    where there is no test (`holm` leaves it out of the family).

    The same floored sd as the difference's interval, so the test rejects at level 1 - c exactly when the
    c-interval excludes 0.
    """
    if difference.sd is None:
        return math.inf
    return float(_p_values(np.array(difference.n), np.array(difference.mean), np.array(difference.sd), sd_floor))


def holm(p_values: Sequence[float], alpha: float = 0.05) -> list[bool]:
    """Holm's step-down procedure: which of a family of hypotheses are rejected with family-wise error <= alpha.

    Sorted ascending, the i-th smallest p-value (from 0) is rejected while p <= alpha / (m - i); the first that is
    not stops the procedure. Valid under any dependence between the tests, which paired comparisons sharing one
    entry have. An infinite p-value stands for a test that cannot be made (fewer than 2 shared trials): it is
    left out of the family and never rejected.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha}: must lie in (0, 1)")
    return _holm_rows(np.array([p_values], dtype=float).reshape(1, -1), alpha)[0].tolist()


def _holm_rows(p: np.ndarray, alpha: float) -> np.ndarray:
    """`holm` on each row of `p` at once."""
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


def rank_intervals(
    headlines: Mapping[EntryId, Mapping[TrialKey, float]],
    confidence: float = 0.95,
    sd_floor: float = PAIRED_SD_FLOOR,
) -> dict[EntryId, RankInterval]:
    """Each entry's rank interval from its paired comparisons with every other entry, family-wise at `confidence`.

    `headlines` maps entry -> trial -> headline score; pass only entries that may be ranked (complete, current
    trials). For one entry the family is its N - 1 paired t-tests (floored sd, as `paired_difference`), corrected
    with Holm; an entry is better or worse than it where the rejected test's mean difference says so. The interval
    then holds the entry's true place with probability >= `confidence` (Al Mohamad et al.'s simultaneous ranks
    read per entry); a noisy entry gets a wide interval instead of rank 1. Pairs sharing fewer than 2 trials are
    never rejected. In numpy blocks: a 1,000-entry board is a million pairs.
    """
    _check_confidence(confidence)
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
    alpha = 1 - confidence
    better = np.zeros(len(entries), dtype=int)
    worse = np.zeros(len(entries), dtype=int)
    for first in range(0, len(entries), _ROWS_PER_BLOCK):
        # differences[i, j, k]: entry j minus entry first + i on trial k, NaN where either lacks trial k
        differences = table[None, :, :] - table[first : first + _ROWS_PER_BLOCK, None, :]
        n, mean, sd, _ = _intervals(differences, confidence, sd_floor)
        p = _p_values(n, mean, sd, sd_floor)
        rows = np.arange(p.shape[0])
        p[n < MIN_TRIALS_FOR_A_CLAIM] = np.inf  # a pair without 2 shared trials cannot be tested: not in the family
        p[rows, first + rows] = np.inf  # nor is an entry compared with itself
        rejected = _holm_rows(p, alpha)
        better[first : first + _ROWS_PER_BLOCK] = (rejected & (mean > 0)).sum(axis=1)
        worse[first : first + _ROWS_PER_BLOCK] = (rejected & (mean < 0)).sum(axis=1)
    return {
        entry: RankInterval(best=1 + int(up), worst=len(entries) - int(down))
        for entry, up, down in zip(entries, better, worse, strict=True)
    }


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
