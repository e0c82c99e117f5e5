"""The suite's plan: built once from the settings and the registry, and every path that queues runs (an upload, a
whole rerun, a first start, benchmarks/load.py) queues the whole of it, its transfer track too."""

import random
from types import SimpleNamespace

import pytest

from api.intake import accept_submission
from api.validation import Verdict
from db import queries
from db.models import Submission
from harness.plan import SuitePlan
from harness.registry import Suite, benchmark_names, transfer_benchmark_names
from runqueue.app import make_celery
from scoring.plan import suite_plan
from scoring.trials import planned_trials
from settings import Settings
from worker import records_staleness
from worker.first_start import start_service_entries
from worker.records_install import install_records


def _queued(submission: Submission) -> set[tuple[str, int, bool]]:
    """(benchmark, trial, transfer) of the submission's current and replacement runs."""
    return {(run.benchmark, run.trial, run.transfer) for run in [*submission.runs, *submission.replacement_runs]}


def _whole(plan: SuitePlan) -> set[tuple[str, int, bool]]:
    return {
        (benchmark, trial.index, transfer)
        for names, transfer in ((plan.benchmarks, False), (plan.transfer_benchmarks, True))
        for benchmark in names
        for trial in plan.trials
    }


@pytest.mark.parametrize("suite", list(Suite))
def test_a_plan_is_the_registry_s_two_tracks_and_the_settings_trials(suite):
    settings = Settings(master_seed=7, trials_official=4, trials_proxy=3, trials_smoke=2)
    plan = suite_plan(settings, suite)
    assert plan.benchmarks == tuple(benchmark_names(suite))
    assert plan.transfer_benchmarks == tuple(transfer_benchmark_names(suite)) and plan.transfer_benchmarks
    assert list(plan.trials) == planned_trials(7, suite, settings.trials(suite))
    assert plan.trained_benchmarks == plan.benchmarks + plan.transfer_benchmarks


def test_an_upload_queues_the_whole_plan(settings, session, factory, redis_client):
    plan = suite_plan(settings, settings.suite)
    form = SimpleNamespace(name="mine", description="", link=None)
    accepted = accept_submission(
        session,
        factory.participant()[0],
        form,
        "class RobustLoss: ...\n",
        "loss.py",
        plan,
        settings,
        lambda code, filename: Verdict(ok=True, error=""),
        make_celery(settings),
    )
    assert _queued(accepted) == _whole(plan)
    assert redis_client.llen("runs") == len(_whole(plan))


def test_a_whole_rerun_queues_the_whole_plan_even_for_a_submission_stored_before_the_transfer_track(factory):
    stored_before = factory.submission(trials=2)  # no transfer run
    plan = factory.plan(2, transfer=True)
    factory.finish(stored_before)
    queries.submissions.rerun_submission(factory.session, stored_before, plan)
    assert {(b, t, x) for b, t, x in _queued(stored_before) if x} == {(b, t, x) for b, t, x in _whole(plan) if x}


def test_a_first_start_without_recorded_results_queues_the_whole_plan_for_every_service_loss(
    any_session, monkeypatch
):
    plan = suite_plan(Settings(), Suite.SMOKE)
    monkeypatch.setattr(records_staleness, "read_records", lambda suite, path=None: None)
    start_service_entries(any_session, plan)
    queued = any_session.query(Submission).all()
    assert queued and all(_queued(submission) == _whole(plan) for submission in queued)


def test_installed_records_hold_or_queue_the_whole_plan(any_session):
    plan = suite_plan(Settings(), Suite.SMOKE)
    records, stale = records_staleness.usable_records(plan)
    assert stale == ""
    install_records(any_session, records, plan)
    installed = any_session.query(Submission).all()
    assert installed and all(_queued(submission) == _whole(plan) for submission in installed)


def test_the_load_test_fills_the_board_with_the_whole_plan(session, monkeypatch):
    monkeypatch.syspath_prepend("benchmarks")
    import load

    assert suite_plan(Settings(trials_smoke=1), Suite.SMOKE) == load.PLAN
    load._finish_baselines(session, random.Random(0))
    baselines = session.query(Submission).all()
    assert baselines and all(_queued(submission) == _whole(load.PLAN) for submission in baselines)
