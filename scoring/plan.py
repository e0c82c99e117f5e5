"""A suite's plan: the benchmarks, the transfer benchmarks and the trials every entry of it meets, built in one
place from the settings and the registry and passed whole to whoever stores, trains or ranks the suite's runs."""

from dataclasses import dataclass

from harness.registry import Suite, benchmark_names, transfer_benchmark_names
from scoring.trials import Trial, planned_trials
from settings import Settings


@dataclass(frozen=True)
class SuitePlan:
    suite: Suite
    benchmarks: tuple[str, ...]  # the announced flip: the headline's benchmarks
    transfer_benchmarks: tuple[str, ...]  # the same with a hidden flip: the transfer score's (docs/transfer.md)
    trials: tuple[Trial, ...]  # 1..n, the same pairs for every entry

    @property
    def trained_benchmarks(self) -> tuple[str, ...]:
        """Every benchmark an entry is trained on: the announced ones, then the transfer track's."""
        return self.benchmarks + self.transfer_benchmarks


def suite_plan(settings: Settings, suite: Suite | str) -> SuitePlan:
    """The plan of `suite` under `settings`: its registry entries and its trials from the master seed."""
    suite = Suite(suite)
    return SuitePlan(
        suite=suite,
        benchmarks=tuple(benchmark_names(suite)),
        transfer_benchmarks=tuple(transfer_benchmark_names(suite)),
        trials=tuple(planned_trials(settings.master_seed, suite, settings.trials(suite))),
    )
