"""A suite's plan built in one place from the settings and the registry (harness.plan.SuitePlan, plain data) and
passed whole to whoever stores, trains or ranks the suite's runs."""

from harness.plan import SuitePlan
from harness.registry import Suite, benchmark_names, transfer_benchmark_names
from scoring.trials import planned_trials
from settings import Settings


def suite_plan(settings: Settings, suite: Suite | str) -> SuitePlan:
    """The plan of `suite` under `settings`: its registry entries and its trials from the master seed."""
    suite = Suite(suite)
    return SuitePlan(
        suite=suite,
        benchmarks=tuple(benchmark_names(suite)),
        transfer_benchmarks=tuple(transfer_benchmark_names(suite)),
        trials=tuple(planned_trials(settings.master_seed, suite, settings.trials(suite))),
    )
