"""runs.transfer: a run of the transfer track (a hidden flip, docs/transfer.md), queued after every announced one.

Revision ID: 0007_transfer_runs
Revises: 0006_submission_filename
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_transfer_runs"
down_revision: str | None = "0006_submission_filename"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("transfer", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("transfer")
