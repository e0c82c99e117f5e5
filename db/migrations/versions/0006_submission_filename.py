"""submissions.filename: the uploaded file's name, which the worker's messages about the file cite.

Revision ID: 0006_submission_filename
Revises: 0005_recorded_runs
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_submission_filename"
down_revision: str | None = "0005_recorded_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("submissions", sa.Column("filename", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("filename")
