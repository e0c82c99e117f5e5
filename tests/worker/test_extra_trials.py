"""Extra trials where the order is open: only while nothing is queued, to the most open entry trained here, behind
every other run, never changing a submission's status, and never past the plan's most trials."""

import pytest

from db import queries
from db.models import Run, RunStatus, Submission, SubmissionKind, SubmissionStatus
from db.queries.queue_position import queued_in_fair_order
from db.session import session_scope
from harness.registry import Suite, benchmark_names
from runqueue.app import make_celery
from tests.conftest import Factory
from worker.extra_trials import add_extra_trial

BENCHMARKS = benchmark_names(Suite.SMOKE)
# a and b cannot be told apart (each could be first or second); c is below both on every trial
SCORES = {"a": {1: 0.80, 2: 0.82}, "b": {1: 0.79, 2: 0.82}, "c": {1: 0.50, 2: 0.51}}


@pytest.fixture
def settings(worker_settings):
    return worker_settings.model_copy(update={"extra_trials_up_to": 3})  # smoke plans 2 trials: one extra


@pytest.fixture
def celery(settings):
    return make_celery(settings)


def _board(settings, recorded: str | None = None) -> dict[str, int]:
    ids = {}
    with session_scope(settings.sqlalchemy_url) as session:
        factory = Factory(session)
        for name, scores in SCORES.items():
            submission = factory.submission(kind=SubmissionKind.BASELINE, trials=2)
            factory.finish(submission, robust_score=scores)
            if name == recorded:
                for run in submission.runs:
                    run.recorded = True
            ids[name] = submission.id
    return ids


def _runs(settings, submission_id: int) -> list[Run]:
    with session_scope(settings.sqlalchemy_url) as session:
        runs = session.query(Run).where(Run.submission_id == submission_id).order_by(Run.id).all()
        session.expunge_all()
        return runs


def _status(settings, submission_id: int) -> SubmissionStatus:
    with session_scope(settings.sqlalchemy_url) as session:
        return session.get(Submission, submission_id).status


def test_the_most_open_entry_gets_the_next_trial_on_every_announced_benchmark_and_stays_succeeded(settings, celery):
    ids = _board(settings)
    added = add_extra_trial(settings, celery)
    extra = [run for run in _runs(settings, ids["a"]) if run.id in added]
    assert sorted((run.benchmark, run.trial, run.transfer) for run in extra) == sorted(
        (b, 3, False) for b in BENCHMARKS
    )
    assert all(run.status is RunStatus.QUEUED and run.dispatched_at is not None for run in extra)
    assert _status(settings, ids["a"]) is SubmissionStatus.SUCCEEDED
    assert add_extra_trial(settings, celery) == []  # its runs wait: nothing more while anything is queued
    with session_scope(settings.sqlalchemy_url) as session:
        # the extra trial fails (its other runs are cancelled): the submission keeps its status and its board row
        claimed = queries.runs.claim_run(session, added[0], "test-worker")
        queries.runs.fail_run(session, added[0], claimed.attempt, "boom", None, "", "0")
    assert _status(settings, ids["a"]) is SubmissionStatus.SUCCEEDED
    assert not any(run.trial > 2 for run in _runs(settings, ids["c"]))  # c's place is settled


def test_extra_runs_start_after_a_participants_planned_runs(settings, celery):
    _board(settings)
    added = add_extra_trial(settings, celery)
    with session_scope(settings.sqlalchemy_url) as session:
        mine = Factory(session).submission(participant=Factory(session).participant("grace")[0], trials=2)
        order = list(session.scalars(queued_in_fair_order(Run.id)))
        assert order[: len(mine.runs)] == sorted(run.id for run in mine.runs) and order[-len(added) :] == added


def test_an_entry_recorded_elsewhere_or_already_at_the_most_trials_gets_none(settings, celery):
    ids = _board(settings, recorded="a")
    added = add_extra_trial(settings, celery)
    assert {run.submission_id for run in _runs(settings, ids["b"]) if run.id in added} == {ids["b"]}
    at_most = settings.model_copy(update={"extra_trials_up_to": 2})
    with session_scope(settings.sqlalchemy_url) as session:
        session.query(Run).where(Run.id.in_(added)).delete()
    assert add_extra_trial(at_most, celery) == []  # the plan's 2 trials are all there is
