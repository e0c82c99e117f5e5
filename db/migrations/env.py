"""Alembic's environment: migrates the caller's database, or the settings' one, to the models' schema."""

from alembic import context

from db.models import Base
from db.session import get_engine


def _database_url() -> str:
    url = context.config.attributes.get("database_url")
    if url is None:  # run from Alembic's own command line
        from settings import get_settings

        url = get_settings().sqlalchemy_url
    return url


def run_migrations_online() -> None:
    with get_engine(_database_url()).connect() as connection:
        # render_as_batch: SQLite alters a table by copying it, which Alembic's batch mode does for us.
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
