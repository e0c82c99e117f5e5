"""runs.recorded: a result shipped with the project (worker/recorded.py), shown on first start until a local
rerun replaces it.

Revision ID: 0005_recorded_runs
Revises: 0004_trials
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_recorded_runs"
down_revision: str | None = "0004_trials"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("recorded", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("recorded")
