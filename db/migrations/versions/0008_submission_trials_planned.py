"""submissions.trials_planned: the suite's trials when the submission was queued, stored rather than read from
the settings of the day. A submission stored before has as many as its runs have: the highest trial among them.

Revision ID: 0008_submission_trials_planned
Revises: 0007_transfer_runs
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_submission_trials_planned"
down_revision: str | None = "0007_transfer_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Not null from the start, with a default only for the rows already there: SQLite makes a column not null
    # only by copying its table, and copying submissions would delete every run through their cascading key.
    op.add_column("submissions", sa.Column("trials_planned", sa.Integer(), nullable=False, server_default="1"))
    op.execute(
        "UPDATE submissions SET trials_planned = "
        "(SELECT coalesce(max(runs.trial), 1) FROM runs WHERE runs.submission_id = submissions.id)"
    )
    if op.get_bind().dialect.name != "sqlite":  # the same copy again; on SQLite the unused default stays
        op.alter_column("submissions", "trials_planned", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("trials_planned")
