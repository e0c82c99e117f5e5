"""The Alembic migrations build exactly the models' schema, on PostgreSQL and on SQLite, and can be undone."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from db.migrate import alembic_config, upgrade
from db.models import Base
from db.session import get_engine


def _schema_differences(url: str) -> list:
    with get_engine(url).connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)


def test_the_migrated_postgresql_schema_matches_the_models(postgres_url):
    assert _schema_differences(postgres_url) == []


def test_the_migrated_sqlite_schema_matches_the_models_and_migrating_twice_changes_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    upgrade(url)
    upgrade(url)
    assert _schema_differences(url) == []


def test_the_migrations_downgrade_to_an_empty_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    assert set(inspect(get_engine(url)).get_table_names()) == {"alembic_version"}
