"""scoring/statistics.py against figures worked out by hand: t-intervals, paired differences, ranks, headlines, power.

The t quantiles in the comments are from a printed t table (and agree with scipy.stats.t.ppf to 6 decimals):
t_{0.975,1} = 12.706205, t_{0.975,2} = 4.302653, t_{0.95,2} = 2.919986, t_{0.975,4} = 2.776445; normal quantiles
z_{0.975} = 1.959964, z_{0.8} = 0.841621.
"""

import math
import random

import pytest
from scipy import stats

from scoring.statistics import (
    ALL_TRIALS,
    Estimate,
    RankInterval,
    average_ranks,
    detectable_difference,
    estimate,
    family_claims,
    headline_per_trial,
    is_provisional,
    look_levels,
    paired_difference,
    rank_intervals,
    tied_ranks,
    unpaired_difference,
)

# A fixed table of headlines over trials 1, 2, 3 (entry -> trial -> headline robust_score).
X = {1: 0.90, 2: 0.92, 3: 0.94}
Y = {1: 0.91, 2: 0.91, 3: 0.94}  # X - Y = [-0.01, 0.01, 0.00]
Z = {1: 0.92, 2: 0.90, 3: 0.93}  # X - Z = [-0.02, 0.02, 0.01]; Y - Z = [-0.01, 0.01, 0.01]
W = {1: 0.94, 2: 0.97, 3: 1.00}  # X + [0.04, 0.05, 0.06]; W - Y = [0.03, 0.06, 0.06]


def test_the_mean_of_three_trials_carries_its_t_interval():
    # [0.90, 0.92, 0.94]: mean 0.92; deviations -0.02, 0, 0.02 -> sd = sqrt((0.0004 + 0 + 0.0004) / 2) = 0.02;
    # half-width t_{0.975,2} * sd / sqrt(3) = 4.302653 * 0.02 / 1.732051 = 0.049683 -> [0.870317, 0.969683]
    result = estimate([0.90, 0.92, 0.94])
    assert result.n == 3
    assert result.mean == pytest.approx(0.92, abs=1e-12)
    assert result.sd == pytest.approx(0.02, abs=1e-12)
    assert result.half_width == pytest.approx(0.049683, abs=1e-6)
    assert (result.ci_low, result.ci_high) == (pytest.approx(0.870317, abs=1e-6), pytest.approx(0.969683, abs=1e-6))


def test_a_lower_confidence_gives_a_narrower_interval_from_its_own_quantile():
    # 90 %: t_{0.95,2} * 0.02 / sqrt(3) = 2.919986 * 0.02 / 1.732051 = 0.033717
    assert estimate([0.90, 0.92, 0.94], confidence=0.90).half_width == pytest.approx(0.033717, abs=1e-6)


def test_one_trial_gives_a_mean_without_spread_or_interval():
    result = estimate([0.9])
    assert result == Estimate(n=1, mean=0.9, sd=None, ci_low=None, ci_high=None)
    assert result.half_width is None


def test_equal_values_collapse_the_interval_to_the_mean():
    result = estimate([0.5, 0.5, 0.5])
    assert (result.sd, result.ci_low, result.ci_high, result.half_width) == (0.0, 0.5, 0.5, 0.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_nan_or_infinite_value_is_refused(bad):
    with pytest.raises(ValueError, match="finite"):
        estimate([0.9, bad])


def test_no_values_and_a_confidence_outside_zero_one_are_refused():
    with pytest.raises(ValueError, match="at least one trial"):
        estimate([])
    with pytest.raises(ValueError, match="confidence"):
        estimate([0.9, 0.8], confidence=95)


def test_the_paired_difference_is_taken_over_the_shared_trials_only():
    # shared trials 2 and 3: differences 0.80 - 0.70 = 0.10 and 0.60 - 0.51 = 0.09 -> mean 0.095,
    # sd = |0.10 - 0.09| / sqrt(2) = 0.007071; half-width 12.706205 * 0.007071 / sqrt(2) = 0.063531
    a = {1: 0.99, 2: 0.80, 3: 0.60}
    b = {2: 0.70, 3: 0.51, 4: 0.10}
    difference = paired_difference(a, b)
    assert difference.n == 2
    assert difference.mean == pytest.approx(0.095, abs=1e-12)
    assert difference.sd == pytest.approx(0.007071, abs=1e-6)
    assert difference.half_width == pytest.approx(0.063531, abs=1e-6)


def test_pairing_finds_a_difference_that_the_two_separate_intervals_hide():
    # W - X = [0.04, 0.05, 0.06]: mean 0.05, sd 0.01, half-width 4.302653 * 0.01 / sqrt(3) = 0.024841
    # -> [0.025159, 0.074841], above 0. Yet X's own interval is [0.870317, 0.969683] and W's (mean 0.97, sd 0.03)
    # is 0.97 -+ 4.302653 * 0.03 / sqrt(3) = [0.895476, 1.044524]: they overlap, the shared trial noise hides it.
    difference = paired_difference(W, X)
    assert difference.ci_low == pytest.approx(0.025159, abs=1e-6)
    assert difference.ci_high == pytest.approx(0.074841, abs=1e-6)
    assert estimate(list(W.values())).ci_low < estimate(list(X.values())).ci_high
    assert family_claims([(W, X)]) == [1] and family_claims([(X, W)]) == [-1]


def test_a_difference_whose_interval_straddles_zero_is_no_claim():
    # X - Z = [-0.02, 0.02, 0.01]: mean 0.003333, sd 0.020817 (above the floor), half-width 0.051711
    difference = paired_difference(X, Z)
    assert difference.ci_low == pytest.approx(-0.048378, abs=1e-6)
    assert _p_by_hand(X, Z) == pytest.approx(stats.ttest_rel([*X.values()], [*Z.values()]).pvalue)  # sd > floor
    assert _p_by_hand(X, Z) > 0.05 and family_claims([(X, Z)]) == [0]


def test_a_constant_difference_has_the_floor_sd_not_a_zero_width_interval():
    # Exactly 0.25 twice: measured sd 0, interval from the floor: 12.706205 * 0.001 / sqrt(2) = 0.0089846
    difference = paired_difference({1: 0.75, 2: 0.75}, {1: 0.5, 2: 0.5})
    assert difference.sd == 0.0
    assert (difference.ci_low, difference.ci_high) == pytest.approx((0.2410154, 0.2589846), abs=1e-6)
    # Still a claim: t = 0.25 / (0.001 / sqrt(2)) = 353.55 on 1 degree of freedom, p = 0.0018
    assert family_claims([({1: 0.75, 2: 0.75}, {1: 0.5, 2: 0.5})]) == [1]


def test_a_constant_one_image_gain_over_three_trials_is_no_claim():
    # +0.00033 on every trial (one test image on one benchmark of a headline): sd 0, floored to 0.001, half-width
    # 4.302653 * 0.001 / sqrt(3) = 0.0024841 -> [-0.0021541, 0.0028141] holds 0.
    copy = {trial: score + 0.00033 for trial, score in X.items()}
    difference = paired_difference(copy, X)
    assert difference.ci_low == pytest.approx(-0.0021541, abs=1e-6) and difference.ci_high > 0
    assert family_claims([(copy, X)]) == [0]
    assert rank_intervals({"copy": copy, "x": X}) == {"copy": RankInterval(1, 2), "x": RankInterval(1, 2)}


def test_a_byte_identical_copy_ties_exactly():
    difference = paired_difference(dict(W), W)
    assert (difference.mean, difference.sd) == (0.0, 0.0) and family_claims([(dict(W), W)]) == [0]
    # w and its copy: neither can be told from the other, both beat x (p 0.01307 twice: Holm 0.025, then 0.05)
    assert rank_intervals({"w": W, "copy": dict(W), "x": X}) == {
        "w": RankInterval(1, 2),
        "copy": RankInterval(1, 2),
        "x": RankInterval(3, 3),
    }


def test_fewer_than_two_shared_trials_make_no_claim_however_large_the_gap():
    assert family_claims([({1: 0.99, 2: 0.99}, {2: 0.10, 3: 0.10})]) == [0]
    assert rank_intervals({"a": {1: 0.99, 2: 0.99}, "b": {2: 0.10, 3: 0.10}}) == {
        "a": RankInterval(1, 2),
        "b": RankInterval(1, 2),
    }
    with pytest.raises(ValueError, match="share no trial"):
        paired_difference({1: 0.99}, {2: 0.10})


def test_a_nan_anywhere_in_either_entry_is_refused_even_off_the_shared_trials():
    with pytest.raises(ValueError, match="finite"):
        paired_difference({1: 0.9, 2: 0.8, 3: math.nan}, {1: 0.7, 2: 0.6})


def _p_by_hand(a: dict[int, float], b: dict[int, float]) -> float:
    """The paired t-test's two-sided p-value with the sd floored at 0.001, written out."""
    differences = [a[trial] - b[trial] for trial in sorted(a.keys() & b.keys())]
    n = len(differences)
    mean = sum(differences) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in differences) / (n - 1))
    return 2 * stats.t.sf(abs(mean) / (max(sd, 0.001) / math.sqrt(n)), n - 1)


def _holm_by_hand(p_values: list[float], alpha: float = 0.05) -> list[bool]:
    rejected = [False] * len(p_values)
    for step, index in enumerate(sorted(range(len(p_values)), key=p_values.__getitem__)):
        if p_values[index] > alpha / (len(p_values) - step):
            break
        rejected[index] = True
    return rejected


def test_family_claims_match_holm_worked_by_hand_on_a_fixed_example():
    # Four comparisons against X (X = 0.90, 0.92, 0.94): their paired t p-values from scipy, then Holm's steps:
    # sorted 0.0051 <= 0.05/4 = 0.0125 and 0.0131 <= 0.05/3 = 0.0167 are rejected; 0.0390 > 0.05/2 = 0.025 stops,
    # so 0.0390 makes no claim although alone it is below 0.05.
    pairs = [
        ({1: 0.95, 2: 0.96, 3: 0.99}, X),  # +0.05, +0.04, +0.05
        (W, X),  # +0.04, +0.05, +0.06
        ({1: 0.87, 2: 0.86, 3: 0.90}, X),  # -0.03, -0.06, -0.04
        (Z, X),
    ]
    p_values = [stats.ttest_rel([*a.values()], [*b.values()]).pvalue for a, b in pairs]
    assert [round(p, 4) for p in p_values] == [0.0051, 0.0131, 0.039, 0.8075]
    assert _holm_by_hand(p_values) == [True, True, False, False]
    assert family_claims(pairs) == [1, 1, 0, 0]
    # A comparison that cannot be made (one shared trial) is outside the family: the same four and it still
    # claim the same, where counting it would have made the thresholds 0.05/5, 0.05/4
    assert family_claims([*pairs, ({1: 0.5}, X)]) == [1, 1, 0, 0, 0]


def test_three_entries_with_overlapping_differences_could_each_hold_any_place():
    # X - Y, X - Z, Y - Z all straddle 0 (worked out above): no claim, so every entry could be 1st to 3rd.
    assert rank_intervals({"x": X, "y": Y, "z": Z}) == {e: RankInterval(1, 3) for e in "xyz"}


def test_a_clear_winner_holds_first_place_and_the_two_it_beats_second_or_third():
    # W - X = [0.04, 0.05, 0.06]: t = 0.05 / (0.01 / sqrt(3)) = 8.660, p = 0.01307 on 2 df; W - Y = [0.03, 0.06,
    # 0.06]: t = 0.05 / (0.017321 / sqrt(3)) = 5.000, p = 0.03775. w's family {0.01307, 0.03775}: 0.01307 <= 0.025,
    # then 0.03775 <= 0.05: both rejected, w is 1-1. x's family {W - X: 0.01307, X - Y: 1.0}: only w is better,
    # 2-3; y's {W - Y: 0.03775 > 0.025, stop}: nothing, 1-3.
    p_wx = stats.ttest_rel([*W.values()], [*X.values()]).pvalue
    p_wy = stats.ttest_rel([*W.values()], [*Y.values()]).pvalue
    assert p_wx == pytest.approx(0.01307, abs=1e-5) and p_wy == pytest.approx(0.03775, abs=1e-5)
    assert rank_intervals({"w": W, "x": X, "y": Y}) == {
        "w": RankInterval(1, 1),
        "x": RankInterval(2, 3),
        "y": RankInterval(1, 3),
    }


def test_a_noisy_entry_gets_a_wide_interval_not_first_place():
    # The proxy board's case: a precise entry p beats l on every trial by 0.07; a noisy one n has a lower mean
    # and differences with p and l that straddle 0. Counting only who is shown better gave n rank 1.
    precise, low, noisy = {1: 0.87, 2: 0.88, 3: 0.86}, {1: 0.80, 2: 0.81, 3: 0.79}, {1: 0.98, 2: 0.70, 3: 0.85}
    ranks = rank_intervals({"p": precise, "l": low, "n": noisy})
    assert ranks == {"p": RankInterval(1, 2), "l": RankInterval(2, 3), "n": RankInterval(1, 3)}


def test_a_one_trial_entry_makes_no_claim_and_is_provisional():
    assert rank_intervals({"w": W, "x": X, "p": {1: 0.99}})["p"] == RankInterval(1, 3)
    assert is_provisional({1: 0.99}, suite_trials=3)
    assert not is_provisional(W, suite_trials=3)


def test_an_entry_with_fewer_trials_than_its_suite_runs_is_provisional_and_one_trial_always_is():
    assert is_provisional({1: 0.9, 2: 0.9}, suite_trials=3)
    assert not is_provisional({1: 0.9, 2: 0.9}, suite_trials=2)
    assert is_provisional({1: 0.9}, suite_trials=1)


def test_rank_intervals_agree_with_holm_over_each_entrys_pairs_one_by_one():
    # The intervals are computed in numpy blocks larger than one; this board of 150 entries with 1-5 trials each
    # (seeded, some sharing few trials) checks every interval against the definition, pair by pair.
    generator = random.Random(16)
    headlines = {
        entry: {
            trial: 0.9 + 0.0005 * entry + generator.gauss(0, 0.01)
            for trial in generator.sample(range(1, 7), generator.randint(1, 5))
        }
        for entry in range(150)
    }
    expected = {}
    for entry, scores in headlines.items():
        others = [other for other in headlines if other != entry and len(headlines[other].keys() & scores.keys()) > 1]
        differences = [paired_difference(headlines[other], scores) for other in others]
        rejected = _holm_by_hand([_p_by_hand(headlines[other], scores) for other in others])
        better = sum(r and d.mean > 0 for r, d in zip(rejected, differences, strict=True))
        worse = sum(r and d.mean < 0 for r, d in zip(rejected, differences, strict=True))
        expected[entry] = RankInterval(1 + better, len(headlines) - worse)
    assert rank_intervals(headlines) == expected
    assert len(set(expected.values())) > 5  # the board has claims to get wrong, not only 1-150


def test_without_extra_trials_one_look_spends_all_of_alpha_and_with_them_the_levels_sum_to_it():
    assert look_levels(first=3, most=3) == {ALL_TRIALS: 0.05} and look_levels(first=3, most=0) == {ALL_TRIALS: 0.05}
    levels = look_levels(first=5, most=10)
    assert list(levels) == [5, 6, 7, 8, 9, 10] and levels[5] == pytest.approx(0.035) and levels[10] == 0.0125
    assert all(levels[n] == pytest.approx(0.000625) for n in range(6, 10)) and sum(levels.values()) == pytest.approx(
        0.05
    )
    assert look_levels(first=2, most=3) == pytest.approx({2: 0.035, 3: 0.015})


def test_with_extra_trials_the_first_look_claims_only_at_its_share_of_alpha():
    # a - b = [0.03, 0.05, 0.04, 0.02, 0.06] at trials 1-5: t = 0.04 / (0.015811 / sqrt(5)) = 5.657, p = 0.0048
    # on 4 df. Alone, and at the first look of 5 with extras (0.035), a claim; at a first look spending 0.004, none.
    a = {1: 0.93, 2: 0.95, 3: 0.94, 4: 0.92, 5: 0.96}
    b = {trial: 0.90 for trial in a}
    assert _p_by_hand(a, b) == pytest.approx(0.0048, abs=1e-4)
    assert family_claims([(a, b)], look_levels(5, 10)) == [1]
    assert family_claims([(a, b)], {5: 0.004, 6: 0.046}) == [0]  # trial 6 is not there: that look is skipped


def test_a_claim_made_at_an_earlier_look_stands_after_trials_that_blur_it():
    # Trials 1-5 as above (p = 0.0048 <= 0.035); trials 6-8 go the other way, so over all 8 the difference is no
    # longer significant (mean 0.0125) -- the claim of the look at 5 stands, as the spending design allows.
    a = {1: 0.93, 2: 0.95, 3: 0.94, 4: 0.92, 5: 0.96, 6: 0.86, 7: 0.87, 8: 0.87}
    b = {trial: 0.90 for trial in a}
    assert family_claims([(a, b)]) == [0]  # one look over every trial
    assert family_claims([(a, b)], look_levels(5, 10)) == [1]
    ranks = rank_intervals({"a": a, "b": b}, look_levels(5, 10))
    assert ranks == {"a": RankInterval(1, 1), "b": RankInterval(2, 2)}


def test_an_unpaired_difference_is_welchs_interval_and_test():
    # W = [0.94, 0.97, 1.00] against X = [0.90, 0.92, 0.94] as if trained on two machines: scipy's Welch test
    difference = unpaired_difference(W, X)
    welch = stats.ttest_ind([*W.values()], [*X.values()], equal_var=False)
    interval = welch.confidence_interval(0.95)
    assert (difference.n, difference.mean, difference.sd) == (3, pytest.approx(0.05), None)
    assert (difference.ci_low, difference.ci_high) == pytest.approx((interval.low, interval.high), abs=1e-9)
    assert welch.pvalue > 0.05 and family_claims([(W, X)], unpaired=[True]) == [0]
    assert family_claims([(W, X)]) == [1]  # paired, the same figures are a claim: the trial noise cancels


def test_an_entry_recorded_elsewhere_is_ranked_against_local_entries_by_unpaired_tests():
    # Paired, w beats x and y on every trial; recorded on another machine, the pairs' noise no longer cancels and
    # nothing separates w from them (Welch p 0.084 and 0.082), while x and y, both local, stay paired.
    assert rank_intervals({"w": W, "x": X, "y": Y})["w"] == RankInterval(1, 1)
    assert rank_intervals({"w": W, "x": X, "y": Y}, elsewhere={"w"})["w"] == RankInterval(1, 3)
    assert rank_intervals({"w": W, "x": X, "y": Y}, elsewhere={"w", "x", "y"})["w"] == RankInterval(1, 1)


def test_rank_intervals_refuse_a_nan_headline_naming_the_entry():
    with pytest.raises(ValueError, match="'q'"):
        rank_intervals({"x": X, "q": {1: math.nan, 2: 0.9}})


def test_an_interval_of_a_bounded_score_is_clipped_to_its_range():
    # [0.99, 1.0, 1.0]: mean 0.996667, half-width 4.302653 * 0.005774 / sqrt(3) = 0.014342 -> [0.982325, 1.011009]
    clipped = estimate([0.99, 1.0, 1.0], bounds=(0.0, 1.0))
    assert (clipped.ci_low, clipped.ci_high) == pytest.approx((0.982325, 1.0), abs=1e-6)
    assert clipped.half_width == pytest.approx(0.014342, abs=1e-6)  # the wider side, as a page shows it
    assert estimate([0.99, 1.0, 1.0]).ci_high == pytest.approx(1.011009, abs=1e-6)


def test_the_headline_of_a_trial_is_the_mean_over_the_suites_benchmarks_on_complete_trials_only():
    cells = {
        "b1": {1: 0.9, 2: 0.8, 3: 0.7},
        "b2": {1: 0.7, 2: 0.6},  # trial 3 not (yet) run on b2
        "b3": {1: 0.8, 2: 0.7, 3: 0.9},
        "elsewhere": {1: 0.0},  # not one of the suite's benchmarks
    }
    # trial 1: (0.9 + 0.7 + 0.8) / 3 = 0.8; trial 2: (0.8 + 0.6 + 0.7) / 3 = 0.7; trial 3 incomplete
    headline = headline_per_trial(cells, ["b1", "b2", "b3"])
    assert headline == {1: pytest.approx(0.8, abs=1e-12), 2: pytest.approx(0.7, abs=1e-12)}
    assert headline_per_trial(cells, ["b1", "missing"]) == {}


def test_the_headline_refuses_a_nan_score_and_an_empty_suite():
    with pytest.raises(ValueError, match="b2"):
        headline_per_trial({"b1": {1: 0.9}, "b2": {1: math.nan}}, ["b1", "b2"])
    with pytest.raises(ValueError, match="no benchmarks"):
        headline_per_trial({"b1": {1: 0.9}}, [])


def test_tied_scores_share_the_mean_of_the_ranks_they_span():
    assert tied_ranks({"a": 0.5, "b": 0.9, "c": 0.5}) == {"a": 2.5, "b": 1.0, "c": 2.5}


def test_the_average_rank_is_the_mean_over_benchmarks_of_the_rank_on_each():
    scores = {"a": {"b1": 0.9, "b2": 0.5}, "b": {"b1": 0.8, "b2": 0.5}, "c": {"b1": 0.7, "b2": 0.6}}
    # b1: a 1, b 2, c 3; b2: c 1, a and b share (2 + 3) / 2 = 2.5 -> a 1.75, b 2.25, c 2.0
    assert average_ranks(scores, ["b1", "b2"]) == {"a": 1.75, "b": 2.25, "c": 2.0}
    with pytest.raises(ValueError, match="'c' has no score on b3"):
        average_ranks({"a": {"b1": 0.9, "b3": 0.4}, "c": {"b1": 0.7}}, ["b1", "b3"])


def test_the_detectable_difference_tends_to_the_normal_approximation_for_many_trials():
    # (z_{0.975} + z_{0.8}) * sd / sqrt(n) = (1.959964 + 0.841621) * 0.01 / 100 = 0.00028016; t adds ~1e-4 relative
    assert detectable_difference(0.01, 10_000) == pytest.approx(2.801585 * 0.01 / 100, rel=1e-3)


def test_the_paired_t_test_has_the_asked_power_at_the_detectable_difference_of_five_trials():
    sd, trials = 0.01, 5
    effect = detectable_difference(sd, trials)
    noncentrality = effect * math.sqrt(trials) / sd
    # Two-sided power at the 5 % level: P(|T| > t_{0.975,4}) for T noncentral t with 4 degrees of freedom.
    power = stats.nct.sf(2.776445, 4, noncentrality) + stats.nct.cdf(-2.776445, 4, noncentrality)
    assert power == pytest.approx(0.8, abs=1e-5)
    assert effect > 2.801585 * sd / math.sqrt(trials)  # the t test's heavier tails ask more than the normal bound


def test_a_half_sd_difference_needs_34_paired_trials_for_80_percent_power():
    # Cohen's tables (one-sample or paired t, two-sided 5 %, power 0.80, d = 0.5): n = 34.
    assert detectable_difference(1.0, 34) < 0.5 < detectable_difference(1.0, 33)


def test_more_trials_detect_smaller_differences_in_proportion_to_the_sd():
    figures = [detectable_difference(0.01, trials) for trials in (2, 3, 5, 10)]
    assert figures == sorted(figures, reverse=True)
    assert detectable_difference(0.02, 3) == pytest.approx(2 * detectable_difference(0.01, 3), rel=1e-9)


def test_the_detectable_difference_refuses_one_trial_and_a_power_below_alpha_and_is_zero_without_spread():
    assert detectable_difference(0.0, 3) == 0.0
    with pytest.raises(ValueError, match="at least 2 trials"):
        detectable_difference(0.01, 1)
    with pytest.raises(ValueError, match="power"):
        detectable_difference(0.01, 3, power=0.04)
    with pytest.raises(ValueError, match="sd"):
        detectable_difference(math.nan, 3)
