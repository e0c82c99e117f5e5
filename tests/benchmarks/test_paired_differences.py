"""Paired differences (benchmarks/paired_differences.py) carry the textbook two-sided 95% Student-t interval."""

import pytest


@pytest.fixture
def paired_summary(monkeypatch):
    monkeypatch.syspath_prepend("benchmarks")
    from paired_differences import paired_summary

    return paired_summary


def test_the_interval_of_three_differences_is_the_mean_plus_or_minus_t_times_the_standard_error(paired_summary):
    """Differences 1, 2, 3: mean 2, standard deviation 1, standard error 1 / sqrt(3) = 0.577350; t(0.975, 2 degrees
    of freedom) = 4.302653, so the half-width is 2.484138."""
    mean, low, high = paired_summary([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert (low, high) == pytest.approx((2.0 - 2.484138, 2.0 + 2.484138), abs=1e-6)


def test_identical_differences_have_a_zero_width_interval_and_one_difference_has_none(paired_summary):
    assert paired_summary([0.25, 0.25, 0.25]) == (0.25, 0.25, 0.25)
    mean, low, high = paired_summary([0.5])
    assert mean == 0.5 and low != low and high != high  # NaN: one pair says nothing about the spread
