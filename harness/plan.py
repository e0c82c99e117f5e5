"""A suite's plan as plain data: its benchmarks, its transfer benchmarks and its trials (each a pair of seeds).

Here, beside the registry and the result schema, because every room reads a plan and harness's plain data is what
every room may import without an exception: it imports nothing but the standard library and the registry, and the
import contracts hold api/, db/, runqueue/, scoring/ and settings/ to it (pyproject.toml). The plan is built in one
place, scoring.plan.suite_plan, and the trials' seeds are derived in scoring/trials.py; this module only says what
they are.
"""

from dataclasses import dataclass

from harness.registry import Suite


@dataclass(frozen=True)
class TrialSeeds:
    training_seed: int  # initialisation, order and augmentation streams (harness.seeds); may be shown
    poison_seed: int  # which labels are flipped: secret, or a loss could learn the poisoned set

    def __repr__(self) -> str:
        # A traceback or a log line that prints the pair must not print the poison seed.
        return f"TrialSeeds(training_seed={self.training_seed}, poison_seed=<secret>)"


@dataclass(frozen=True)
class Trial:
    index: int  # from 1
    seeds: TrialSeeds


@dataclass(frozen=True)
class SuitePlan:
    suite: Suite
    benchmarks: tuple[str, ...]  # the announced flip: the headline's benchmarks
    transfer_benchmarks: tuple[str, ...]  # the same with a hidden flip: the transfer score's (docs/transfer.md)
    trials: tuple[Trial, ...]  # 1..K, the same pairs for every entry
    # K + 1, K + 2, ...: the trials idle workers may add to entries whose rank is still open (docs/statistics.md,
    # "Extra trials"); none: claims are made at one look over every trial.
    extra_trials: tuple[Trial, ...] = ()

    @property
    def most_trials(self) -> int:
        return len(self.trials) + len(self.extra_trials)

    @property
    def trained_benchmarks(self) -> tuple[str, ...]:
        """Every benchmark an entry is trained on: the announced ones, then the transfer track's."""
        return self.benchmarks + self.transfer_benchmarks
