"""Initial schema: participants, submissions, runs.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_RUNS = "superseded_at IS NULL"


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=16)


def _timestamp(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


RUN_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
FAILURE_CAUSES = ("loss", "infrastructure")


def upgrade() -> None:
    op.create_table(
        "participants",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("display_name", sa.String(100), nullable=False, unique=True),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("is_admin", sa.Boolean(), server_default=sa.false(), nullable=False),
        _timestamp("created_at", nullable=False),
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("participant_id", sa.Integer(), sa.ForeignKey("participants.id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("suite", sa.String(16), nullable=False, index=True),
        sa.Column("kind", _enum("submissionkind", "baseline", "reference", "submission"), nullable=False),
        sa.Column("status", _enum("submissionstatus", *RUN_STATUSES), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("failure_cause", _enum("failurecause", *FAILURE_CAUSES)),
        sa.Column("hidden", sa.Boolean(), server_default=sa.false(), nullable=False),
        _timestamp("created_at", nullable=False),
        _timestamp("started_at"),
        _timestamp("finished_at"),
    )
    op.create_index("ix_submissions_participant_created", "submissions", ["participant_id", "created_at"])
    op.create_index("ix_submissions_participant_sha256", "submissions", ["participant_id", "sha256"])
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "submission_id", sa.Integer(), sa.ForeignKey("submissions.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("benchmark", sa.String(100), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("status", _enum("runstatus", *RUN_STATUSES), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(200)),
        _timestamp("queued_at", nullable=False),
        _timestamp("dispatched_at"),
        _timestamp("started_at"),
        _timestamp("heartbeat_at"),
        _timestamp("finished_at"),
        _timestamp("superseded_at"),
        sa.Column("epochs_done", sa.Integer(), nullable=False),
        sa.Column("epochs_total", sa.Integer()),
        sa.Column("curve", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON()),
        sa.Column("environment", sa.JSON()),
        sa.Column("result", sa.JSON()),
        sa.Column("harness_version", sa.String(32)),
        sa.Column("error", sa.Text()),
        sa.Column("failure_cause", _enum("failurecause", *FAILURE_CAUSES)),
        sa.Column("log_tail", sa.Text()),
    )
    op.create_index("ix_runs_status_queued_at", "runs", ["status", "queued_at"])
    op.create_index(
        "uq_runs_current",
        "runs",
        ["submission_id", "benchmark", "seed"],
        unique=True,
        postgresql_where=sa.text(CURRENT_RUNS),
        sqlite_where=sa.text(CURRENT_RUNS),
    )


def downgrade() -> None:
    op.drop_table("runs")
    op.drop_table("submissions")
    op.drop_table("participants")
