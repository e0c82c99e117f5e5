"""The power analysis (benchmarks/power_analysis.py) reads the board's own entries from the shipped records."""

from harness.losses import BASELINES, PUBLISHED_METHODS
from harness.registry import Suite, benchmark_names


def test_it_reads_exactly_the_service_entries_a_board_shows_on_every_planned_trial(monkeypatch):
    monkeypatch.syspath_prepend("benchmarks")
    from power_analysis import load_scores

    benchmarks = benchmark_names(Suite.SMOKE)
    scores, wall_seconds = load_scores(Suite.SMOKE, benchmarks)
    assert set(scores) == set(benchmarks)
    for benchmark in benchmarks:
        assert set(scores[benchmark]) == {*BASELINES, *PUBLISHED_METHODS}  # nothing that is not on the board
        assert all(set(by_trial) == {1, 2} for by_trial in scores[benchmark].values())  # the smoke suite's trials
        assert len(wall_seconds[benchmark]) == 2 * len(scores[benchmark])
