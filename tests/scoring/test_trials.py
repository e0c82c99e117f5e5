"""Trials: one pure function gives every entry the same pair on trial k, and different pairs on different trials."""

import pytest

from db import queries
from harness.registry import Suite, benchmark_names
from scoring.trials import run_seeds, trial_seeds
from tests.conftest import MASTER_SEED


def test_trial_seeds_are_a_pure_function_of_master_seed_suite_and_trial():
    assert trial_seeds(7, "proxy", 1) == trial_seeds(7, "proxy", 1)
    pairs = {trial_seeds(master, suite, trial) for master in (7, 8) for suite in ("proxy", "smoke") for trial in (1, 2)}
    assert len(pairs) == 8  # any change of master seed, suite or trial gives another pair
    seeds = trial_seeds(7, "proxy", 1)
    assert seeds.training_seed != seeds.poison_seed and 0 <= seeds.poison_seed < 2**63


def test_trials_are_numbered_from_one():
    with pytest.raises(ValueError, match="from 1"):
        trial_seeds(7, "proxy", 0)


def test_the_printed_pair_does_not_show_the_poison_seed():
    seeds = trial_seeds(7, "proxy", 1)
    assert str(seeds.poison_seed) not in repr(seeds) and str(seeds.training_seed) in repr(seeds)


def test_every_entry_meets_the_same_pair_on_a_trial_and_another_pair_on_another_trial(any_factory):
    session = any_factory.session
    first, second = (any_factory.submission(trials=2) for _ in range(2))
    assert len(first.runs) == 2 * len(benchmark_names(Suite.SMOKE))
    claims = {
        (submission.id, run.benchmark, run.trial): queries.runs.claim_run(session, run.id, "worker")
        for submission in (first, second)
        for run in submission.runs
    }
    claimed = {  # the pair the worker derives from what it claimed
        key: run_seeds(MASTER_SEED, claim.suite, claim.trial, claim.seed, claim.legacy_seed)
        for key, claim in claims.items()
    }
    for benchmark in benchmark_names(Suite.SMOKE):
        for trial in (1, 2):
            # what the worker trains with is the same for both entries, and the trial's pair
            assert claimed[(first.id, benchmark, trial)] == claimed[(second.id, benchmark, trial)]
            assert claimed[(first.id, benchmark, trial)] == trial_seeds(MASTER_SEED, Suite.SMOKE, trial)
        assert claimed[(first.id, benchmark, 1)] != claimed[(first.id, benchmark, 2)]
    # the stored, public seed is the trial's training seed
    assert {(run.trial, run.seed) for run in first.runs} == {
        (trial, trial_seeds(MASTER_SEED, Suite.SMOKE, trial).training_seed) for trial in (1, 2)
    }
