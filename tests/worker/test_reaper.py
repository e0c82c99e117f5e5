"""The reaper: silent runs go back to the queue (or fail as the infrastructure's); lost messages resent."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from db import queries
from db.models import FailureCause, Run, RunStatus, SubmissionStatus, utcnow
from db.session import session_scope
from runqueue.app import RUNS_QUEUE, make_celery
from tests.conftest import Factory
from worker.reaper import reap


@pytest.fixture
def celery(worker_settings):
    return make_celery(worker_settings)


def _submission_runs(settings) -> list[int]:
    with session_scope(settings.sqlalchemy_url) as session:
        owner, _ = queries.participants.create_participant(session, "ada")
        submission = queries.submissions.create_submission(
            session,
            owner,
            plan=Factory.plan(),
            name="loss",
            code="code",
            sha256="0" * 64,
        )
        return [run.id for run in submission.runs]


def _age(settings, run_id: int, **columns_seconds_ago: int) -> None:
    values = {column: utcnow() - timedelta(seconds=ago) for column, ago in columns_seconds_ago.items()}
    with session_scope(settings.sqlalchemy_url) as session:
        session.execute(update(Run).where(Run.id == run_id).values(**values))


def _run(settings, run_id: int) -> Run:
    with session_scope(settings.sqlalchemy_url) as session:
        return session.get(Run, run_id)


def test_runs_never_sent_are_sent(worker_settings, celery, redis_client):
    run_ids = _submission_runs(worker_settings)
    assert reap(worker_settings, celery) == run_ids
    assert redis_client.llen(RUNS_QUEUE) == 3
    assert reap(worker_settings, celery) == []  # sent and still in the queue: nothing to do


def test_runs_stuck_past_their_heartbeat_are_requeued_and_sent_again(worker_settings, celery, redis_client):
    run_id, *_ = _submission_runs(worker_settings)
    with session_scope(worker_settings.sqlalchemy_url) as session:
        queries.runs.claim_run(session, run_id, "dead@worker")
    _age(worker_settings, run_id, heartbeat_at=worker_settings.heartbeat_timeout + 1)
    assert run_id in reap(worker_settings, celery)
    assert redis_client.llen(RUNS_QUEUE) == 3  # the requeued run and the two never sent
    run = _run(worker_settings, run_id)
    assert run.status is RunStatus.QUEUED and run.attempts == 1 and "stopped sending heartbeats" in run.error


def test_a_run_silent_on_its_last_attempt_fails_without_counting_against_the_participant(
    worker_settings, celery
):
    run_id, *_ = _submission_runs(worker_settings)
    for _ in range(worker_settings.max_attempts):
        with session_scope(worker_settings.sqlalchemy_url) as session:
            queries.runs.claim_run(session, run_id, "dead@worker")
        _age(worker_settings, run_id, heartbeat_at=worker_settings.heartbeat_timeout + 1)
        reap(worker_settings, celery)
    run = _run(worker_settings, run_id)
    assert run.status is RunStatus.FAILED and run.failure_cause is FailureCause.INFRASTRUCTURE
    with session_scope(worker_settings.sqlalchemy_url) as session:
        submission = session.get(Run, run_id).submission
        assert submission.status is SubmissionStatus.FAILED
        assert submission.failure_cause is FailureCause.INFRASTRUCTURE


def test_queued_runs_whose_messages_were_lost_are_resent_only_when_the_queue_is_empty(
    worker_settings, celery, redis_client
):
    run_ids = _submission_runs(worker_settings)
    reap(worker_settings, celery)  # sends all three
    for run_id in run_ids:
        _age(worker_settings, run_id, dispatched_at=worker_settings.heartbeat_timeout + 1)
    assert reap(worker_settings, celery) == []  # their messages are still waiting
    redis_client.flushdb()  # the broker lost its data
    assert reap(worker_settings, celery) == run_ids
    assert redis_client.llen(RUNS_QUEUE) == 3


def test_a_running_run_with_a_fresh_heartbeat_is_left_alone(worker_settings, celery):
    run_id, *_ = _submission_runs(worker_settings)
    with session_scope(worker_settings.sqlalchemy_url) as session:
        queries.runs.claim_run(session, run_id, "busy@worker")
    reap(worker_settings, celery)
    assert _run(worker_settings, run_id).status is RunStatus.RUNNING
