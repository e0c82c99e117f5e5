"""A database that is busy or unreachable: the API answers 503 with Retry-After and a sentence, never a 500."""

import logging
import sqlite3

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from api.errors import DATABASE_RETRY_SECONDS
from api.main import create_app
from db.migrate import upgrade
from db.session import session_scope
from harness.registry import Suite
from settings import Settings
from tests.conftest import Factory

pytestmark = pytest.mark.slow


def test_a_write_lock_held_past_the_busy_timeout_on_sqlite_answers_503_and_the_retry_succeeds(tmp_path, caplog):
    # The fault found in testing: a worker's transaction holds SQLite's write lock while the public progress page
    # is read; every session there begins IMMEDIATE, so the read waits out the busy timeout (db/session.py, 30 s).
    settings = Settings(suite=Suite.SMOKE, data_root=tmp_path / "var")  # the embedded default: SQLite
    upgrade(settings.sqlalchemy_url)
    with session_scope(settings.sqlalchemy_url) as session:
        url = f"/api/submissions/{Factory(session).submission().id}/public"
    worker = sqlite3.connect(make_url(settings.sqlalchemy_url).database, isolation_level=None)
    with TestClient(create_app(settings)) as client:
        worker.execute("BEGIN IMMEDIATE")  # the write lock, as a worker's transaction holds it
        try:
            with caplog.at_level(logging.WARNING, logger="api.errors"):
                refused = client.get(url)
        finally:
            worker.rollback()
            worker.close()
        retried = client.get(url)
    assert refused.status_code == 503, refused.text
    assert refused.headers["Retry-After"] == str(DATABASE_RETRY_SECONDS)
    assert refused.json() == {"detail": "the database is busy or unreachable right now; try again in a few seconds"}
    [warning] = [record.getMessage() for record in caplog.records if record.name == "api.errors"]
    assert url in warning and "database is locked" in warning
    assert "SELECT" not in warning.upper()  # the statement, and so its parameters, stay out of the log
    assert retried.status_code == 200, retried.text
