"""Recorded results replaced by runs of this machine while the workers are idle: one service entry at a time, only
while nothing is queued, behind every participant's runs, its recorded results on the board until the new ones all
succeeded."""

import itertools

import pytest
from sqlalchemy import select

from db import queries
from db.models import Run, RunStatus, Submission, SubmissionKind
from db.queries.queue_position import queued_in_fair_order
from db.session import session_scope
from harness.registry import Suite, trained_benchmark_names
from runqueue.app import make_celery
from tests.conftest import Factory
from worker.recorded_replacement import replace_recorded_results

TRIALS = 2  # the smoke suite's
OWNERS = (f"owner-{number}" for number in itertools.count())  # one per entry: each test's factories start anew


@pytest.fixture
def settings(worker_settings):
    return worker_settings.model_copy(update={"suite": Suite.SMOKE, "replace_recorded_when_idle": True})


@pytest.fixture
def celery(settings):
    return make_celery(settings)


def _entry(settings, kind: SubmissionKind, recorded: bool) -> int:
    with session_scope(settings.sqlalchemy_url) as session:
        factory = Factory(session)
        owner = factory.participant(next(OWNERS))[0]
        submission = factory.submission(owner, kind=kind, trials=TRIALS, transfer=True)
        factory.finish(submission)
        for run in submission.runs:
            run.recorded = recorded
        return submission.id


def _board(settings) -> dict[int, object]:
    with session_scope(settings.sqlalchemy_url) as session:
        return {entry.submission.id: entry for entry in Factory(session).board(TRIALS)}


def test_the_oldest_recorded_service_entry_is_retrained_whole_and_keeps_its_results_until_then(settings, celery):
    participants = _entry(settings, SubmissionKind.SUBMISSION, recorded=True)  # recorded, but not the service's
    local = _entry(settings, SubmissionKind.BASELINE, recorded=False)
    first = _entry(settings, SubmissionKind.BASELINE, recorded=True)
    second = _entry(settings, SubmissionKind.PUBLISHED, recorded=True)
    added = replace_recorded_results(settings, celery)
    with session_scope(settings.sqlalchemy_url) as session:
        new_runs = list(session.scalars(select(Run).where(Run.id.in_(added))))
        assert {run.submission_id for run in new_runs} == {first}
        assert sorted((run.benchmark, run.trial) for run in new_runs) == sorted(
            (benchmark, trial) for benchmark in trained_benchmark_names(Suite.SMOKE) for trial in (1, 2)
        )
        assert all(run.pending_replacement and run.dispatched_at is not None for run in new_runs)
    board = _board(settings)
    assert board[first].submission.recorded and board[first].submission.rerunning  # shown as it was meanwhile
    assert replace_recorded_results(settings, celery) == []  # one at a time: its runs are queued
    with session_scope(settings.sqlalchemy_url) as session:
        Factory(session).finish(session.get(Submission, first))
    board = _board(settings)
    assert not board[first].submission.recorded and not board[first].submission.rerunning
    assert {run.submission_id for run in _runs(settings, replace_recorded_results(settings, celery))} == {second}
    assert board[participants].submission.recorded and board[local].trials_complete == TRIALS


def _runs(settings, run_ids: list[int]) -> list[Run]:
    with session_scope(settings.sqlalchemy_url) as session:
        runs = list(session.scalars(select(Run).where(Run.id.in_(run_ids))))
        session.expunge_all()
        return runs


def test_a_participants_runs_start_before_the_replacement_runs(settings, celery):
    _entry(settings, SubmissionKind.BASELINE, recorded=True)
    added = replace_recorded_results(settings, celery)
    with session_scope(settings.sqlalchemy_url) as session:
        factory = Factory(session)
        mine = factory.submission(factory.participant(next(OWNERS))[0], trials=TRIALS)
        order = list(session.scalars(queued_in_fair_order(Run.id)))
        assert order[: len(mine.runs)] == sorted(run.id for run in mine.runs)
        assert sorted(order[len(mine.runs) :]) == sorted(added)


def test_nothing_is_retrained_while_a_run_waits_when_switched_off_or_after_a_failed_replacement(settings, celery):
    recorded = _entry(settings, SubmissionKind.BASELINE, recorded=True)
    with session_scope(settings.sqlalchemy_url) as session:
        factory = Factory(session)
        waiting = factory.submission(factory.participant(next(OWNERS))[0], trials=TRIALS)
        waiting_runs = [run.id for run in waiting.runs]
    assert replace_recorded_results(settings, celery) == []
    with session_scope(settings.sqlalchemy_url) as session:
        session.query(Run).where(Run.id.in_(waiting_runs)).update({"status": RunStatus.CANCELLED})
    assert replace_recorded_results(settings.model_copy(update={"replace_recorded_when_idle": False}), celery) == []
    added = replace_recorded_results(settings, celery)
    assert added
    with session_scope(settings.sqlalchemy_url) as session:
        claimed = queries.runs.claim_run(session, added[0], "test-worker")
        queries.runs.fail_run(session, added[0], claimed.attempt, "boom", None, "", "0")
        assert session.get(Submission, recorded).rerun_error
    assert replace_recorded_results(settings, celery) == []  # an admin's to look at, not retried in a loop
