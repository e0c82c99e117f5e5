"""An hour of the service's database work at once, in one process: the connection pools never run dry.

The reaper's pass, a worker's claim and heartbeats and the API's requests run side by side on threads, as many
times as they run in an hour (a reaper pass every 30 s, a heartbeat every 15 s), on the embedded default
(SQLite files, the SQLAlchemy broker) and on PostgreSQL with Redis. A connection kept checked out by any of them
would pile up until a checkout waits out the pool's timeout (sqlalchemy.exc.TimeoutError).
"""

import gc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.main import create_app
from db import queries
from db.migrate import upgrade
from db.models import Run
from db.session import get_engine, session_scope
from harness.registry import Suite
from runqueue.app import make_celery
from settings import Settings
from tests.conftest import Factory
from worker.reaper import reap

pytestmark = pytest.mark.slow

HOUR = 3600  # seconds
REAPER_PASSES = HOUR // 30  # settings.reaper_interval's default
HEARTBEATS = HOUR // 15  # settings.heartbeat_interval's default
API_REQUESTS = 3 * HEARTBEATS
TRIALS = 4  # one run per benchmark and trial, claimed one after another by the worker


@pytest.fixture(params=["sqlite", "postgresql"])
def hour_settings(request, tmp_path: Path) -> Settings:
    if request.param == "sqlite":  # empty URLs: the embedded default, SQLite files under data_root
        settings = Settings(suite=Suite.SMOKE, data_root=tmp_path / "var")
        upgrade(settings.sqlalchemy_url)
        return settings
    request.getfixturevalue("redis_client")  # emptied before and after
    return Settings(
        suite=Suite.SMOKE,
        database_url=request.getfixturevalue("committed_postgres_url"),
        broker_url=request.getfixturevalue("redis_url"),
        data_root=tmp_path / "var",
    )


@pytest.fixture
def no_garbage_collection() -> Iterator[None]:
    """A connection left checked out is returned when its owner is collected: no collection, no hiding it."""
    gc.disable()
    yield
    gc.enable()


def test_an_hour_of_reaper_worker_and_api_work_never_waits_for_a_pooled_connection(
    hour_settings, no_garbage_collection
):
    settings = hour_settings
    url = settings.sqlalchemy_url
    with session_scope(url) as session:
        participant, token = queries.participants.create_participant(session, "endurance")
        submission = queries.submissions.create_submission(
            session, participant, plan=Factory.plan(TRIALS), name="hour", code="class RobustLoss:\n    pass\n",
            sha256="0" * 64,
        )
        run_ids = [run.id for run in submission.runs]
    celery = make_celery(settings)
    auth = {"Authorization": f"Bearer {token}"}

    def reaper() -> int:
        for _ in range(REAPER_PASSES):
            reap(settings, celery)  # sends the runs the test queued unsent, and checks the broker's queue
        return REAPER_PASSES

    def worker() -> int:
        beats = 0
        for run_id in run_ids:
            with session_scope(url) as session:
                claimed = queries.runs.claim_run(session, run_id, "endurance-worker")
            for _ in range(HEARTBEATS // len(run_ids)):
                with session_scope(url) as session:
                    beats += queries.runs.record_heartbeat(session, run_id, claimed.attempt)
        return beats

    def api() -> list[int]:
        with TestClient(create_app(settings)) as client:
            paths = ("/readyz", "/api/submissions", "/api/leaderboard")
            return [client.get(paths[n % 3], headers=auth).status_code for n in range(API_REQUESTS)]

    with ThreadPoolExecutor(max_workers=3) as threads:
        passes, beats, answers = (future.result() for future in [threads.submit(f) for f in (reaper, worker, api)])

    assert beats == HEARTBEATS // len(run_ids) * len(run_ids)  # every heartbeat was written by its owner
    assert set(answers) == {200}, sorted(set(answers))
    assert passes == REAPER_PASSES
    with session_scope(url) as session:
        assert session.scalar(select(func.count()).select_from(Run).where(Run.status == "running")) == len(run_ids)
    assert get_engine(url).pool.checkedout() == 0
