"""A submission's link: where its method is described, shown beside its name.

Revision ID: 0003_submission_link
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_submission_link"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("submissions", sa.Column("link", sa.String(500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("link")
