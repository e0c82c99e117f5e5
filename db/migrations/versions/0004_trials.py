"""Trials: a run is (submission, benchmark, trial); reruns replace results in one step; kind `reference` retired.

Every existing run is kept and marked `legacy_seed`: it was trained with the old global poison seed (the setting
that is now the master seed) and its own training seed, not with a pair of scoring/trials.py, so the board pairs it only
with other legacy runs. Its `seed` column keeps the training seed it was trained with; its trial is that seed's
place among the training seeds ever used (the old setting POISONBENCH_SEEDS ran every entry on the same list), so a
service that ran the default single seed 42 has every run as legacy trial 1, and legacy runs of one seed are paired
across entries as they were trained. A legacy run still queued at the upgrade is trained as before
(scoring.trials.legacy_seeds). Nothing is deleted.

The kind `reference` is retired: its loss file is no longer shipped and it is not one of the published methods
now queued as kind `published`. Its rows become kind `published` and hidden, so their results stay in the
database (and in `admin export`) and off the board, where the re-implementations of the published methods replace
them; an admin can show one again with `admin submissions hide ID --undo`.

`seed` widens to 64 bits: trial seeds are 63-bit hashes.

Revision ID: 0004_trials
Revises: 0003_submission_link
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_trials"
down_revision: str | None = "0003_submission_link"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_RUNS = "superseded_at IS NULL"


def upgrade() -> None:
    op.add_column("runs", sa.Column("trial", sa.Integer(), nullable=True))
    op.add_column("runs", sa.Column("legacy_seed", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column(
        "runs", sa.Column("pending_replacement", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.execute(
        "UPDATE runs SET legacy_seed = true, "
        "trial = (SELECT COUNT(DISTINCT earlier.seed) FROM runs AS earlier WHERE earlier.seed <= runs.seed)"
    )
    op.drop_index("uq_runs_current", table_name="runs")
    with op.batch_alter_table("runs") as batch:  # SQLite changes a column by copying the table
        batch.alter_column("trial", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("seed", existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=False)
    _current_runs_index("trial", "pending_replacement")
    op.add_column("submissions", sa.Column("rerun_error", sa.Text(), nullable=True))
    # leaderboard_revision moves: the board's cache must see these rows leave it.
    op.execute(
        "UPDATE submissions SET kind = 'published', hidden = true, "
        "leaderboard_revision = leaderboard_revision + 1 WHERE kind = 'reference'"
    )


def downgrade() -> None:
    # The old schema has no pending replacements and one current run per seed: runs of a rerun under way become
    # history, and every published row becomes the one non-baseline service kind the old schema knows.
    op.execute(f"UPDATE runs SET superseded_at = CURRENT_TIMESTAMP WHERE pending_replacement AND {CURRENT_RUNS}")
    op.execute("UPDATE submissions SET kind = 'reference' WHERE kind = 'published'")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("rerun_error")
    op.drop_index("uq_runs_current", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.alter_column("seed", existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=False)
        batch.drop_column("pending_replacement")
        batch.drop_column("legacy_seed")
        batch.drop_column("trial")
    _current_runs_index("seed")


def _current_runs_index(*columns: str) -> None:
    op.create_index(
        "uq_runs_current",
        "runs",
        ["submission_id", "benchmark", *columns],
        unique=True,
        postgresql_where=sa.text(CURRENT_RUNS),
        sqlite_where=sa.text(CURRENT_RUNS),
    )
