"""Trials: the (training seed, poison seed) pairs every entry of a suite meets, derived from one secret master seed.

Trial k of a suite is the same pair for every submission (a paired design: docs/statistics.md), so it is a pure
function of the master seed, the suite and k, computed wherever it is needed and never stored whole: the training
seed is a run's public `seed` column, the poison seed exists only inside the worker that trains the run.
"""

import hashlib

from harness.plan import Trial, TrialSeeds


def trial_seeds(master_seed: int, suite: str, trial: int) -> TrialSeeds:
    """The pair of `trial` (from 1) of `suite`: sha256 of "master/suite/trial/stream", 63 bits each.

    A hash, so neighbouring trials and suites get unrelated seeds, and knowing any number of training seeds
    (which are public) tells nothing about a poison seed without the master seed.
    """
    if trial < 1:
        raise ValueError(f"trial={trial}: trials are numbered from 1")
    return TrialSeeds(
        training_seed=_derive(master_seed, suite, trial, "training"),
        poison_seed=_derive(master_seed, suite, trial, "poison"),
    )


def legacy_seeds(master_seed: int, training_seed: int) -> TrialSeeds:
    """The pair a run stored before trials existed is trained with: its own stored training seed, and the master
    seed itself as poison seed (the setting was the poison seed then), so a legacy run still queued at the upgrade
    trains exactly as it would have."""
    return TrialSeeds(training_seed=training_seed, poison_seed=master_seed)


def run_seeds(master_seed: int, suite: str, trial: int, training_seed: int, legacy_seed: bool) -> TrialSeeds:
    """The pair a stored run trains with, from its row (its suite, trial, stored training seed and legacy mark):
    derived at run time by the worker, since the poison seed is stored nowhere."""
    return legacy_seeds(master_seed, training_seed) if legacy_seed else trial_seeds(master_seed, suite, trial)


def planned_trials(master_seed: int, suite: str, count: int) -> list[Trial]:
    """Trials 1..count of the suite."""
    return [Trial(index, trial_seeds(master_seed, suite, index)) for index in range(1, count + 1)]


def _derive(master_seed: int, suite: str, trial: int, stream: str) -> int:
    digest = hashlib.sha256(f"{master_seed}/{suite}/{trial}/{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)
