"""What the API reads and answers, split by direction: tables never leak, nor anyone's code."""

import unicodedata
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from fastapi import UploadFile
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    UrlConstraints,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

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
MAX_LINK_LENGTH = 500  # characters: db.models.Submission.link's column


def _link_text(url: HttpUrl) -> str:
    # Checked again after normalising: an international domain name grows when written in punycode.
    text = str(url)
    if len(text) > MAX_LINK_LENGTH:
        raise ValueError(f"the link is {len(text)} characters once normalised; at most {MAX_LINK_LENGTH} fit")
    return text


def _absent_if_blank(value: object, validate: ValidatorFunctionWrapHandler) -> object:
    """A web form sends an empty field it did not fill in: that is no link, not a malformed one."""
    return None if value is None or isinstance(value, str) and not value.strip() else validate(value)


# An http(s) URL to the method's paper or code, stored as pydantic normalises it (e.g. a lower-case host).
Link = Annotated[HttpUrl, UrlConstraints(max_length=MAX_LINK_LENGTH), AfterValidator(_link_text)]


class SubmissionCreate(BaseModel):
    """An upload: the loss file and its fields, one multipart/form-data object (curl -F file=@loss.py -F name=...).

    One model, so that the OpenAPI description has one request body that generated clients can send.
    """

    name: SubmissionName
    description: Description = ""
    # Not `Link | None`: a form has no null, and a refused union would name each of its branches in `errors`.
    link: Annotated[Link, WrapValidator(_absent_if_blank)] = Field(
        None, description="an http(s) URL to the method's paper or code, shown on the leaderboard"
    )
    # `format: binary` beside pydantic's contentMediaType: OpenAPI 3.0 tooling, openapi-python-client among
    # it, sends a property as a file part only when it is marked so.
    file: UploadFile = Field(
        description="the loss file: Python defining class RobustLoss; messages cite it by this file name",
        json_schema_extra={"format": "binary"},
    )


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    database: Literal["ok"]
    broker: Literal["ok"]


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
    link: str | None
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
    link: str | None  # shown on the leaderboard anyway
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
    link: str | None  # the method's paper or code, given at upload
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
