"""The tables: participants, their submissions, the runs (submission x benchmark x trial) measuring them."""

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, DateTime, Enum, ForeignKey, Index, String, Text, TypeDecorator, false, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both engines: SQLite stores naive ones, so the zone is put back on reading."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


class SubmissionKind(StrEnum):
    BASELINE = "baseline"  # one of the four published baselines, queued by the service itself
    # A re-implementation of a best published method (docs/published-methods.md), queued beside the baselines.
    # Replaces the retired kind "reference" (migration 0004_trials).
    PUBLISHED = "published"
    SUBMISSION = "submission"  # a participant's upload


class SubmissionStatus(StrEnum):
    """Follows the submission's runs (db.status.submission_status); never set by hand."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class RunStatus(StrEnum):
    """Changed only through db.status.transition_run, which guards every move."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class FailureCause(StrEnum):
    LOSS = "loss"  # the submitted loss broke the contract or ran out of time: final, the participant's
    INFRASTRUCTURE = "infrastructure"  # a worker, the sandbox or the broker failed: retried, not held against


def _enum(cls: type[StrEnum]) -> Enum:
    # Stored as plain strings (no database ENUM type): adding a member needs no migration of the type.
    return Enum(cls, native_enum=False, length=16, values_callable=lambda members: [m.value for m in members])


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict: JSON, list: JSON}


class Participant(Base):
    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100), unique=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)  # the token itself is never stored
    is_admin: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    submissions: Mapped[list["Submission"]] = relationship(back_populates="participant")


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_participant_created", "participant_id", "created_at"),
        Index("ix_submissions_participant_sha256", "participant_id", "sha256"),
        # The leaderboard cache's marker, the suite's sum of leaderboard_revision, read from the index alone.
        Index("ix_submissions_suite_leaderboard_revision", "suite", "leaderboard_revision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(500))  # an http(s) URL to its paper or code, checked by the API
    code: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    # The uploaded file's name, as the worker's messages cite it; None before it was stored (migration 0006).
    filename: Mapped[str | None] = mapped_column(String(255))
    suite: Mapped[str] = mapped_column(
        String(16), index=True
    )  # harness.registry.Suite; db/ imports no harness
    kind: Mapped[SubmissionKind] = mapped_column(_enum(SubmissionKind), default=SubmissionKind.SUBMISSION)
    # The suite's trials when it was queued: what its scores are planned on, whatever the settings say later.
    trials_planned: Mapped[int]
    status: Mapped[SubmissionStatus] = mapped_column(_enum(SubmissionStatus), default=SubmissionStatus.QUEUED)
    error: Mapped[str | None] = mapped_column(Text)
    failure_cause: Mapped[FailureCause | None] = mapped_column(_enum(FailureCause))
    link: Mapped[str | None] = mapped_column(String(500))  # where the method is described, shown beside its name
    hidden: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Why the last rerun did not replace the results on the board; None when it did, or while one is under way.
    rerun_error: Mapped[str | None] = mapped_column(Text)
    # Counts the times it went on or off the leaderboard (reached or left succeeded, hidden or shown again);
    # the suite's sum moves with every such change, in whatever order transactions commit (api/leaderboard_cache.py).
    leaderboard_revision: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    participant: Mapped[Participant] = relationship(back_populates="submissions")
    # The current runs only, those its results are read from; superseded ones stay in the table as history.
    runs: Mapped[list["Run"]] = relationship(
        primaryjoin="and_(Run.submission_id == Submission.id, Run.superseded_at.is_(None), "
        "Run.pending_replacement.is_(False))",
        order_by="Run.id",
        viewonly=True,
    )
    # The runs of a rerun under way, which replace `runs` in one step once every one of them succeeded.
    replacement_runs: Mapped[list["Run"]] = relationship(
        primaryjoin="and_(Run.submission_id == Submission.id, Run.superseded_at.is_(None), "
        "Run.pending_replacement.is_(True))",
        order_by="Run.id",
        viewonly=True,
    )


class Run(Base):
    """One benchmark x trial of a submission. A rerun supersedes the row with a new one: history is kept."""

    __tablename__ = "runs"
    __table_args__ = (
        # At most one current run and one pending replacement per submission, benchmark and trial; superseded
        # ones are history.
        Index(
            "uq_runs_current",
            "submission_id",
            "benchmark",
            "trial",
            "pending_replacement",
            unique=True,
            postgresql_where=text("superseded_at IS NULL"),
            sqlite_where=text("superseded_at IS NULL"),
        ),
        Index("ix_runs_status_queued_at", "status", "queued_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    benchmark: Mapped[str] = mapped_column(String(100))
    trial: Mapped[int]  # from 1: the same (training seed, poison seed) pair for every entry (scoring/trials.py)
    # The trial's training seed, public; the poison seed is derived by the worker at run time, never stored.
    seed: Mapped[int] = mapped_column(BigInteger)
    # Stored before trials (migration 0004_trials): trained with the old global poison seed, so paired only with
    # other legacy runs, never with a trial 1 of today.
    legacy_seed: Mapped[bool] = mapped_column(default=False, server_default=false())
    # A run of a rerun that has not yet replaced the current run of its benchmark and trial (see Submission.runs).
    pending_replacement: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Trained by the project with its own harness and shipped with it (worker/records_file.py), not on this machine.
    recorded: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Of the transfer track: its benchmark flips labels by a hidden flip (docs/transfer.md), not (y + 1) % C.
    transfer: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The hidden flip's design a transfer run was trained under (harness.registry.FLIP_DESIGN), set when it succeeds;
    # None on the announced flip. The board ranks the transfer track on the current design only (migration 0009).
    flip_design: Mapped[int | None]
    status: Mapped[RunStatus] = mapped_column(_enum(RunStatus), default=RunStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)  # starts so far; the worker's claim increments it
    worker: Mapped[str | None] = mapped_column(
        String(200)
    )  # hostname of the Celery worker of the last attempt
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None]  # when its broker message was last sent; None: not sent yet
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    superseded_at: Mapped[datetime | None]  # set when a rerun replaced this run
    epochs_done: Mapped[int] = mapped_column(default=0)
    epochs_total: Mapped[int | None]
    curve: Mapped[list] = mapped_column(default=list)  # per-epoch records, written as training goes
    metrics: Mapped[dict | None]  # harness.result.Metrics as a dict
    environment: Mapped[dict | None]
    result: Mapped[dict | None]  # the whole RunResult.to_dict(): configuration, provenance, timing
    harness_version: Mapped[str | None] = mapped_column(
        String(32)
    )  # of the worker's harness that produced it
    error: Mapped[str | None] = mapped_column(Text)
    failure_cause: Mapped[FailureCause | None] = mapped_column(_enum(FailureCause))
    log_tail: Mapped[str | None] = mapped_column(Text)

    submission: Mapped[Submission] = relationship()
