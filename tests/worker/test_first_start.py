"""First start: a new database gets the service entries from the shipped recorded results, or queued for training
when there are none to use; a database that has them all is left alone."""

from db.models import RunStatus, Submission
from harness.registry import Suite
from scoring.plan import suite_plan
from settings import Settings
from worker import records_staleness
from worker.baselines import SERVICE_LOSSES
from worker.first_start import start_service_entries

PLAN = suite_plan(Settings(), Suite.SMOKE)  # the development master seed the shipped records were trained on


def test_a_new_database_gets_every_service_entry_from_the_recorded_results_and_a_second_start_changes_nothing(
    any_session,
):
    started = start_service_entries(any_session, PLAN)
    assert started is not None and started.records is not None and started.run_ids == []
    entries = any_session.query(Submission).all()
    assert sorted(entry.name for entry in entries) == sorted(SERVICE_LOSSES)
    assert all(run.status is RunStatus.SUCCEEDED and run.recorded for entry in entries for run in entry.runs)
    assert start_service_entries(any_session, PLAN) is None


def test_without_usable_recorded_results_every_service_entry_is_queued_and_the_reason_given(any_session, monkeypatch):
    monkeypatch.setattr(records_staleness, "read_records", lambda suite, path=None: None)
    started = start_service_entries(any_session, PLAN)
    assert started is not None and started.records is None
    assert started.unused_records == "no recorded results ship for the smoke suite"
    queued = len(SERVICE_LOSSES) * len(PLAN.trained_benchmarks) * len(PLAN.trials)
    assert len(started.run_ids) == queued
