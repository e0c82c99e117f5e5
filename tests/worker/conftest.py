"""Worker tests commit for real (the worker opens its own sessions): own databases, emptied after each."""

from pathlib import Path

import pytest

from db.migrate import upgrade
from harness.registry import Suite
from settings import Settings


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request, tmp_path: Path) -> str:
    """A committed database on each engine: PostgreSQL (production, CI) and SQLite (the embedded default)."""
    if request.param == "postgresql":
        return request.getfixturevalue("committed_postgres_url")
    url = f"sqlite:///{tmp_path / 'poisonbench.sqlite3'}"
    upgrade(url)
    return url


def _settings(database_url: str, redis_url: str, tmp_path: Path, **overrides) -> Settings:
    return Settings(
        suite=Suite.SMOKE,
        database_url=database_url,
        broker_url=redis_url,
        data_root=tmp_path / "var",
        **overrides,
    )


@pytest.fixture
def worker_settings(database_url: str, redis_url: str, redis_client, tmp_path: Path) -> Settings:
    """Short heartbeats and two attempts, for the lifecycle and the reaper called as functions."""
    return _settings(
        database_url, redis_url, tmp_path, max_attempts=2, heartbeat_interval=1, heartbeat_timeout=3
    )
