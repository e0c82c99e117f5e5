"""What the API reads and answers, split by direction: tables never leak, nor anyone's code."""

import unicodedata
from datetime import datetime
from typing import Annotated, Any, Generic, Self, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from db.models import FailureCause, RunStatus, Submission, SubmissionKind, SubmissionStatus
from harness.result import Metrics


def _one_printable_line(text: str) -> str:
    if any(unicodedata.category(character) == "Cc" for character in text):
        raise ValueError("control characters (newline, tab, escape, NUL...) are not allowed; use one plain line")
    return text


def _printable_text(text: str) -> str:
    # PostgreSQL cannot store NUL in text, and other control characters only garble a page; lines and tabs stay.
    if any(unicodedata.category(character) == "Cc" and character not in "\n\r\t" for character in text):
        raise ValueError("control characters other than newline and tab are not allowed (NUL, escape...)")
    return text


SubmissionName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(_one_printable_line)
]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(_printable_text)
]


class SubmissionCreate(BaseModel):
    """The form fields beside the uploaded file."""

    name: SubmissionName
    description: Description = ""


class SubmissionAccepted(BaseModel):
    id: int
    url: str
    status: SubmissionStatus


class RunProgressPublic(BaseModel):
    """What anyone may see of a run: its progress, curve and metrics; never its error or log."""

    model_config = ConfigDict(from_attributes=True)

    benchmark: str
    seed: int
    status: RunStatus
    epochs_done: int
    epochs_total: int | None
    curve: list[dict]
    metrics: Metrics | None  # the result schema's metrics, each described in the OpenAPI document


class RunPublic(RunProgressPublic):
    """The owner's (and admins') view of a run: its attempts, error and log tail too."""

    attempts: int
    harness_version: str | None
    error: str | None
    failure_cause: FailureCause | None
    log_tail: str | None
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


class SubmissionProgressPublic(BaseModel):
    """What anyone may see of a visible submission; its code, description, errors and logs are its owner's."""

    id: int
    name: str
    participant: str
    suite: str
    kind: SubmissionKind
    status: SubmissionStatus
    created_at: datetime
    finished_at: datetime | None
    runs: list[RunProgressPublic]


class SubmissionCode(BaseModel):
    """The uploaded file, for its owner and admins only."""

    id: int
    sha256: str
    code: str


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
