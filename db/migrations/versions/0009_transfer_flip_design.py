"""runs.flip_design: the hidden flip's design a transfer run was trained under (harness.registry.FLIP_DESIGN).

Every transfer run stored before was trained under design 1 (one derangement per trial, shared by the benchmarks of
a class count, which could send a class to (y + 1) % C) and is marked so: kept and shown, never ranked with runs of
a later design (docs/transfer.md). A transfer run still queued is marked too and gets the current design when it
succeeds. Nothing is deleted.

Revision ID: 0009_transfer_flip_design
Revises: 0008_submission_trials_planned
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_transfer_flip_design"
down_revision: str | None = "0008_submission_trials_planned"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_DESIGN = 1  # a literal, not harness.registry.FLIP_DESIGN: what this migration did must not move with the code


def upgrade() -> None:
    op.add_column("runs", sa.Column("flip_design", sa.Integer(), nullable=True))
    op.execute(f"UPDATE runs SET flip_design = {OLD_DESIGN} WHERE transfer")
    # leaderboard_revision moves: the board's cache must see their transfer ranks go.
    op.execute(
        "UPDATE submissions SET leaderboard_revision = leaderboard_revision + 1 "
        "WHERE id IN (SELECT submission_id FROM runs WHERE transfer AND status = 'succeeded')"
    )


def downgrade() -> None:
    # SQLite drops a column by copying the table: no table refers to runs, so the copy keeps every run, superseded
    # ones too, under the same partial unique index (tests/db/test_migrations.py).
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("flip_design")
