"""The backup of docs/operations.md, done once: pg_dump -Fc a database, pg_restore it into a fresh one, compare."""

import os
import subprocess
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import MetaData, create_engine, select

from db.session import session_scope
from harness.registry import Suite, benchmark_names
from tests.conftest import POSTGRES_ADMIN_URL, Factory

pytestmark = pytest.mark.slow

SERVER = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]  # postgresql://user@host:port


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """An empty database (no schema) to restore into; its libpq URL."""
    name = f"poisonbench_restored_{os.getpid()}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{SERVER}/{name}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _every_row(libpq_url: str) -> dict[str, list[tuple]]:
    engine = create_engine(libpq_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        tables = MetaData()
        tables.reflect(engine)
        with engine.connect() as connection:
            return {
                name: [tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key))]
                for name, table in tables.tables.items()
            }
    finally:
        engine.dispose()


def test_a_pg_dump_restored_into_a_fresh_database_holds_the_same_rows(migrated_database, fresh_database, tmp_path):
    source_url = migrated_database("poisonbench_backup")
    with session_scope(source_url) as session:
        factory = Factory(session)
        factory.finish(factory.submission(), robust_score=0.7)
        factory.submission()
    source = source_url.replace("postgresql+psycopg://", "postgresql://", 1)
    dump = tmp_path / "poisonbench.dump"
    subprocess.run(["pg_dump", "-Fc", "--file", str(dump), source], check=True, timeout=120)
    subprocess.run(["pg_restore", "--no-owner", "--dbname", fresh_database, str(dump)], check=True, timeout=120)
    original, restored = _every_row(source), _every_row(fresh_database)
    assert {"participants", "submissions", "runs", "alembic_version"} <= original.keys()
    assert len(original["runs"]) == 2 * len(benchmark_names(Suite.SMOKE)) and len(original["participants"]) == 2
    assert restored == original
