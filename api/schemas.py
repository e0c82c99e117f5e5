"""What the API reads and answers, split by direction: tables never leak, nor anyone's code."""

from datetime import datetime
from typing import Annotated, Any, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints

from db.models import FailureCause, RunStatus, Submission, SubmissionKind, SubmissionStatus

SubmissionName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class SubmissionCreate(BaseModel):
    """The form fields beside the uploaded file."""

    name: SubmissionName
    description: Description = ""


class SubmissionAccepted(BaseModel):
    id: int
    url: str
    status: SubmissionStatus


class RunPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    benchmark: str
    seed: int
    status: RunStatus
    attempts: int
    epochs_done: int
    epochs_total: int | None
    curve: list[dict]
    metrics: dict[str, float] | None
    harness_version: str | None
    error: str | None
    failure_cause: FailureCause | None
    started_at: datetime | None
    finished_at: datetime | None


class SubmissionPublic(BaseModel):
    id: int
    url: str
    name: str
    description: str
    suite: str
    kind: SubmissionKind
    sha256: str
    status: SubmissionStatus
    error: str | None
    failure_cause: FailureCause | None
    hidden: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_row(cls, submission: Submission, url: str, **extra: Any) -> Self:
        columns = {
            name: getattr(submission, name)
            for name in cls.model_fields
            if name not in extra and name != "url"
        }
        return cls(**columns, url=url, **extra)


class SubmissionDetail(SubmissionPublic):
    queue_position: int | None  # 1 = next to start; None when no run is waiting
    estimated_start: datetime | None  # None without a queue or without finished runs to time
    runs: list[RunPublic]


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    data: list[T]
    count: int  # all matching items, not only this page's


class BenchmarkPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    suite: str
    architecture: str
    dataset: str
    num_classes: int
    poison_rate: float
    train_samples: int
    test_samples: int
    epochs: int
    departures: str


class LeaderboardEntryPublic(BaseModel):
    rank: int
    submission_id: int
    name: str
    participant: str
    kind: SubmissionKind  # baselines and the reference are marked
    mean_robust_score: float
    average_rank: float
    benchmarks: dict[str, dict[str, float]]  # benchmark -> metric -> mean over seeds
    submitted_at: datetime


class LeaderboardPublic(BaseModel):
    suite: str
    harness_version: str  # only results of this version are ranked
    benchmarks: list[str]
    data: list[LeaderboardEntryPublic]
    count: int
