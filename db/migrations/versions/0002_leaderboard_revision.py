"""The leaderboard cache's marker: submissions.leaderboard_revision and an index on (suite, it).

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "submissions",
        sa.Column("leaderboard_revision", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.create_index("ix_submissions_suite_leaderboard_revision", "submissions", ["suite", "leaderboard_revision"])


def downgrade() -> None:
    op.drop_index("ix_submissions_suite_leaderboard_revision", table_name="submissions")
    with op.batch_alter_table("submissions") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("leaderboard_revision")
