"""The Alembic migrations build exactly the models' schema, on PostgreSQL and on SQLite, and can be undone."""

import json

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

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


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_database_url(request, migrated_database, tmp_path) -> str:
    """A database at no revision yet, on PostgreSQL and on SQLite (the embedded default)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db.sqlite3'}"
    url = migrated_database("poisonbench_migration_test")
    command.downgrade(alembic_config(url), "base")
    return url


def test_upgrading_to_trials_keeps_every_run_as_a_legacy_trial_of_its_seed_and_hides_the_retired_reference(
    empty_database_url,
):
    upgrade(empty_database_url, "0002")
    with get_engine(empty_database_url).begin() as connection:
        connection.execute(text(
            "INSERT INTO participants (id, display_name, token_sha256, is_admin, created_at) "
            "VALUES (1, 'PoisonBench', 'x', false, CURRENT_TIMESTAMP)"
        ))  # fmt: skip
        for submission_id, kind in ((1, "baseline"), (2, "reference"), (3, "submission")):
            connection.execute(text(
                "INSERT INTO submissions (id, participant_id, name, description, code, sha256, suite, kind, status, "
                "hidden, leaderboard_revision, created_at) VALUES "
                f"({submission_id}, 1, 'loss {submission_id}', '', 'code', 'sha', 'smoke', '{kind}', 'succeeded', "
                "false, 1, CURRENT_TIMESTAMP)"
            ))  # fmt: skip
        runs = [(submission_id, seed) for submission_id in (1, 2, 3) for seed in (42, 7)]
        for run_id, (submission_id, seed) in enumerate(runs, start=1):
            connection.execute(text(
                "INSERT INTO runs (id, submission_id, benchmark, seed, status, attempts, queued_at, epochs_done, "
                f"curve, metrics) VALUES ({run_id}, {submission_id}, 'b', {seed}, 'succeeded', 1, CURRENT_TIMESTAMP, "
                """2, '[]', '{"robust_score": 0.5}')"""
            ))  # fmt: skip
    upgrade(empty_database_url)
    with get_engine(empty_database_url).connect() as connection:
        stored = connection.execute(
            text("SELECT submission_id, seed, trial, legacy_seed, pending_replacement, metrics FROM runs ORDER BY id")
        ).all()
        kinds = connection.execute(
            text("SELECT id, kind, hidden, leaderboard_revision FROM submissions ORDER BY id")
        ).all()
        planned = connection.execute(text("SELECT trials_planned FROM submissions ORDER BY id")).scalars().all()
    assert [(row.submission_id, row.seed) for row in stored] == runs  # every run, its training seed kept
    # The old seeds setting ran every entry on the same seeds: each becomes one legacy trial, paired across entries.
    assert [row.trial for row in stored] == [2, 1] * 3
    assert all(row.legacy_seed and not row.pending_replacement for row in stored)
    # PostgreSQL's driver decodes JSON, SQLite's gives the text
    assert all(json.loads(row.metrics) if isinstance(row.metrics, str) else row.metrics for row in stored)
    assert {json.dumps(row.metrics) if isinstance(row.metrics, dict) else row.metrics for row in stored} == {
        '{"robust_score": 0.5}'
    }
    assert [tuple(row) for row in kinds] == [
        (1, "baseline", False, 1),
        (2, "published", True, 2),  # off the board, its results kept; the board's cache sees it leave
        (3, "submission", False, 1),
    ]
    assert planned == [2, 2, 2]  # migration 0008: a submission stored before it planned the trials its runs have
    assert _schema_differences(empty_database_url) == []


def test_upgrading_to_flip_designs_marks_every_transfer_run_design_1_and_downgrading_keeps_every_run(
    empty_database_url,
):
    upgrade(empty_database_url, "0008")
    runs = [  # (id, benchmark, transfer, status, superseded)
        (1, "b-labelflip", False, "succeeded", False),
        (2, "b-hiddenflip", True, "succeeded", True),  # history: replaced by run 3
        (3, "b-hiddenflip", True, "succeeded", False),
        (4, "c-hiddenflip", True, "queued", False),
    ]
    with get_engine(empty_database_url).begin() as connection:
        connection.execute(text(
            "INSERT INTO participants (id, display_name, token_sha256, is_admin, created_at) "
            "VALUES (1, 'PoisonBench', 'x', false, CURRENT_TIMESTAMP)"
        ))  # fmt: skip
        connection.execute(text(
            "INSERT INTO submissions (id, participant_id, name, description, code, sha256, suite, kind, status, "
            "hidden, leaderboard_revision, created_at, trials_planned) VALUES "
            "(1, 1, 'loss', '', 'code', 'sha', 'smoke', 'baseline', 'running', false, 1, CURRENT_TIMESTAMP, 1)"
        ))  # fmt: skip
        for run_id, benchmark, transfer, status, superseded in runs:
            replaced_at = "CURRENT_TIMESTAMP" if superseded else "NULL"
            connection.execute(text(
                "INSERT INTO runs (id, submission_id, benchmark, trial, seed, status, attempts, queued_at, "
                f"epochs_done, curve, transfer, superseded_at) VALUES ({run_id}, 1, '{benchmark}', 1, 7, '{status}', "
                f"1, CURRENT_TIMESTAMP, 2, '[]', {str(transfer).lower()}, {replaced_at})"
            ))  # fmt: skip
    upgrade(empty_database_url)
    with get_engine(empty_database_url).connect() as connection:
        designs = connection.execute(text("SELECT id, flip_design FROM runs ORDER BY id")).all()
        revision = connection.scalar(text("SELECT leaderboard_revision FROM submissions"))
    # Trained under the old design, or (run 4) to be marked with the current one when it succeeds.
    assert [tuple(row) for row in designs] == [(1, None), (2, 1), (3, 1), (4, 1)]
    assert revision == 2  # the board's cache sees its transfer rank go
    command.downgrade(alembic_config(empty_database_url), "0008")
    with get_engine(empty_database_url).connect() as connection:
        kept = connection.execute(
            text("SELECT id, benchmark, transfer, status, superseded_at IS NOT NULL FROM runs ORDER BY id")
        ).all()
    assert [tuple(row) for row in kept] == runs
    columns = inspect(get_engine(empty_database_url)).get_columns("runs")
    assert "flip_design" not in {column["name"] for column in columns}
    upgrade(empty_database_url)
    assert _schema_differences(empty_database_url) == []
