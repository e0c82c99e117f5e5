"""`poisonbench admin ...` as an administrator calls it, on a committed database and the test Redis.

(Here rather than in tests/cli: these commands compose db/ and worker/, and these are their fixtures.)"""

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select

from cli.main import main
from db import queries
from db.models import Run, Submission, SubmissionKind, SubmissionStatus
from db.session import session_scope
from harness.losses import BASELINES
from harness.registry import Suite, benchmark_names
from settings import get_settings
from worker.celery_app import RUNS_QUEUE

SMOKE_RUNS = len(benchmark_names(Suite.SMOKE))


@pytest.fixture
def poisonbench(database_url, redis_url, redis_client, monkeypatch, capsys) -> Iterator[Callable[..., str]]:
    """Runs the command with the service's settings in the environment; returns what it printed."""
    monkeypatch.setenv("POISONBENCH_DATABASE_URL", database_url)
    monkeypatch.setenv("POISONBENCH_BROKER_URL", redis_url)
    monkeypatch.setenv("POISONBENCH_SUITE", Suite.SMOKE)
    get_settings.cache_clear()

    def run(*args: str, status: int = 0) -> str:
        assert main(list(args)) == status
        out, err = capsys.readouterr()
        return out + err

    yield run
    get_settings.cache_clear()


def test_a_created_participants_token_works_until_it_is_rotated(poisonbench, database_url):
    token = poisonbench("admin", "participant", "create", "ada").split()[-1]
    with session_scope(database_url) as session:
        assert queries.participant_by_token(session, token).display_name == "ada"
    assert "exists" in poisonbench("admin", "participant", "create", "ada", status=2)
    new_token = poisonbench("admin", "participant", "rotate-token", "ada").split()[-1]
    with session_scope(database_url) as session:
        assert queries.participant_by_token(session, token) is None
        assert queries.participant_by_token(session, new_token) is not None
    assert "ada" in poisonbench("admin", "participant", "list")


def test_rerunning_the_baselines_queues_them_and_keeps_earlier_runs_as_history(poisonbench, database_url, redis_client):
    losses = len(BASELINES)
    assert f"queued {losses * SMOKE_RUNS} runs" in poisonbench("admin", "baselines", "rerun")
    benchmark = benchmark_names(Suite.SMOKE)[0]
    assert f"queued {losses} runs" in poisonbench("admin", "baselines", "rerun", "--benchmark", benchmark)
    assert redis_client.llen(RUNS_QUEUE) == losses * (SMOKE_RUNS + 1)
    with session_scope(database_url) as session:
        kinds = {s.name: s.kind for s in session.scalars(select(Submission))}
        assert kinds == dict.fromkeys(BASELINES, SubmissionKind.BASELINE)
        assert session.scalar(select(func.count()).select_from(Run)) == losses * (SMOKE_RUNS + 1)


def test_an_administrator_shows_cancels_hides_and_reruns_a_submission(poisonbench, database_url):
    poisonbench("admin", "baselines", "rerun")
    assert "cross_entropy" in poisonbench("admin", "submissions", "show", "1")
    assert "3 runs cancelled" in poisonbench("admin", "submissions", "cancel", "1")
    assert "hidden from" in poisonbench("admin", "submissions", "hide", "1")
    assert "3 runs queued again" in poisonbench("admin", "submissions", "rerun", "1")
    with session_scope(database_url) as session:
        submission = queries.get_submission(session, 1)
        assert submission.hidden and submission.status is SubmissionStatus.QUEUED
    assert poisonbench("admin", "submissions", "list", "--status", "cancelled").strip() == "0 of 0"
    assert "no submission 99" in poisonbench("admin", "submissions", "show", "99", status=2)


def test_upgrading_the_database_twice_is_harmless(poisonbench):
    assert "up to date" in poisonbench("admin", "db", "upgrade")
    assert "up to date" in poisonbench("admin", "db", "upgrade")
