"""A suite's plan built in one place from the settings and the registry (harness.plan.SuitePlan, plain data) and
passed whole to whoever stores, trains or ranks the suite's runs."""

from harness.plan import SuitePlan
from harness.registry import Suite, benchmark_names, transfer_benchmark_names
from scoring.trials import planned_trials
from settings import Settings


def suite_plan(settings: Settings, suite: Suite | str) -> SuitePlan:
    """The plan of `suite` under `settings`: its registry entries, its trials and the extra trials idle workers may
    add, all from the master seed."""
    suite = Suite(suite)
    planned = settings.trials(suite)
    trials = planned_trials(settings.master_seed, suite, max(planned, settings.extra_trials_up_to))
    return SuitePlan(
        suite=suite,
        benchmarks=tuple(benchmark_names(suite)),
        transfer_benchmarks=tuple(transfer_benchmark_names(suite)),
        trials=tuple(trials[:planned]),
        extra_trials=tuple(trials[planned:]),
    )
