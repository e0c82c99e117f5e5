"""What the API reads and answers, split by direction: tables never leak, nor anyone's code."""

import unicodedata
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, Self, TypeVar
from urllib.parse import urlsplit

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
from harness.result import EpochRecord, Metrics


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
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(_printable_text)]
MAX_LINK_LENGTH = 500  # characters: db.models.Submission.link's column
# Ids and offsets beyond a PostgreSQL integer are answered 422 rather than met by a database error.
MAX_DB_INTEGER = 2**31 - 1


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


def safe_link(url: str | None) -> str | None:
    """`url` if it is an http(s) address, else None: a javascript: or data: link must never become clickable.

    The one check of a link on its way out: every answer's `link` passes it (ShownLink), so the pages and their
    scripts show what they are given. An upload's link is checked as it comes in (Link); a row written before that
    check, or by hand, is still never served as a link.
    """
    if url is None:
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


ShownLink = Annotated[str | None, AfterValidator(safe_link)]


def _without_default(schema: dict[str, Any]) -> None:
    """An optional field's schema with no `default`: generators (openapi-typescript among them) type a property
    with a default as always present, which makes it required in their request types."""
    schema.pop("default", None)


class SubmissionCreate(BaseModel):
    """An upload: the loss file and its fields, one multipart/form-data object (curl -F file=@loss.py -F name=...).

    One model, so that the OpenAPI description has one request body that generated clients can send.
    """

    name: SubmissionName
    description: Description = Field("", json_schema_extra=_without_default)  # absent: stored as ""
    # Not `Link | None`: a form has no null, and a refused union would name each of its branches in `errors`.
    link: Annotated[Link, WrapValidator(_absent_if_blank)] = Field(
        None,
        description="an http(s) URL to the method's paper or code, shown on the leaderboard",
        json_schema_extra=_without_default,
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
    """What anyone may see of a run: its progress, curve and metrics; never its error or log, nor its poison seed."""

    model_config = ConfigDict(from_attributes=True)

    benchmark: str
    trial: int  # from 1; the same (training seed, secret poison seed) pair for every entry
    seed: int  # the trial's training seed
    pending_replacement: bool  # a run of a rerun under way, which replaces the current one once all succeeded
    status: RunStatus
    epochs_done: int
    epochs_total: int | None
    curve: list[EpochRecord]
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


class SubmissionShown(BaseModel):
    """What anyone may see of a visible submission, and its owner too."""

    id: int
    name: str
    description: str  # shown on the leaderboard anyway
    link: ShownLink  # the method's paper or code, given at upload; null unless http(s)
    suite: str
    kind: SubmissionKind
    status: SubmissionStatus
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def from_row(cls, submission: Submission, **extra: Any) -> Self:
        """The model of `submission`: its columns of the same names, and `extra` for every other field."""
        columns = {name: getattr(submission, name) for name in cls.model_fields if name not in extra}
        return cls(**columns, **extra)


class SubmissionPublic(SubmissionShown):
    """The owner's (and admins') view of a submission, as it is listed."""

    url: str
    sha256: str
    error: str | None
    failure_cause: FailureCause | None
    hidden: bool
    started_at: datetime | None


class EstimatePublic(BaseModel):
    """A mean over n trials with its 95 % t-interval (scoring/statistics.py); sd and interval are null when n < 2."""

    model_config = ConfigDict(from_attributes=True)

    n: int
    mean: float
    sd: float | None
    ci_low: float | None
    ci_high: float | None
    half_width: float | None  # what a page shows after ±: the interval's wider side (it is clipped to [0, 1])


class ComparisonPublic(BaseModel):
    """This submission minus another entry, paired over the trials both have: "+0.012 ± 0.008 vs generalized_ce"."""

    against_id: int
    against_name: str
    against_kind: SubmissionKind
    is_leader: bool  # the board's first ranked entry other than this one: the runner-up when this one leads
    # "headline" (mean robust_score over the suite's benchmarks), "transfer" (the same over the hidden-flip
    # benchmarks), or a benchmark's name
    scope: str
    difference: EstimatePublic
    # What the difference shows, by Holm at 95 % family-wise over the list's comparisons of its track (the headline
    # and announced-flip benchmarks are one family, the transfer track another): null claims nothing
    claim: Literal["better", "worse"] | None
    # False when one of the two was recorded on another machine: the same seeds there give other runs, so the
    # difference is unpaired (Welch's interval, sd null), not paired over shared trials
    paired: bool


class SubmissionProgress(BaseModel):
    """Where a submission stands: its place in the queue, when it should start and finish, and its paired
    comparisons on the board."""

    queue_position: int | None  # 1 = next to start; None when no run is waiting
    # From the time left on running runs and the durations of runs trained on this deployment, shared among its
    # live workers (db/queue_forecast.py). None once started, or while a run before it has no duration to go by.
    estimated_start: datetime | None
    # When its last run should end, while it is queued or running; None otherwise, or when a run cannot be timed.
    estimated_finish: datetime | None
    trials_planned: int
    comparisons: list[ComparisonPublic]
    leads: bool  # this submission is its board's first ranked entry


class SubmissionDetail(SubmissionPublic, SubmissionProgress):
    """The owner's view of one submission: every run with its error and log."""

    runs: list[RunPublic]


class SubmissionProgressPublic(SubmissionShown, SubmissionProgress):
    """What anyone may see of a visible submission; its code, errors and logs are its owner's."""

    participant: str
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
    # The places it could hold among the ranked entries, family-wise at 95 % (docs/statistics.md): best = 1 + the
    # entries shown better, worst = N - the entries shown worse; null when it is not ranked (provisional or legacy).
    rank_best: int | None
    rank_worst: int | None
    provisional: bool  # fewer complete trials than planned: shown after the ranked entries, with no rank
    legacy: bool  # only trials from before trials existed, paired with nothing trained since: no rank
    trials_complete: int  # trials done on every benchmark: the headline's n
    trials_planned: int
    submission_id: int
    name: str
    kind: SubmissionKind  # baselines and published methods are marked
    participant: str
    created_at: datetime
    description: str
    link: ShownLink
    headline: EstimatePublic  # mean robust_score over the suite's benchmarks per trial, then over trials
    # benchmark -> metric -> estimate over its trials; the hidden-flip benchmarks' too, of the current flip design
    benchmarks: dict[str, dict[str, EstimatePublic]]
    average_rank: float  # mean over benchmarks of the rank by mean robust_score (no claim of noise)
    rerunning: bool  # a rerun is under way: these results stay until all its runs succeeded
    rerun_failed: bool  # the last rerun failed: these are still the results from before it
    recorded: bool  # results shipped with the project, trained by its harness elsewhere; a rerun replaces them
    # The transfer track (docs/transfer.md): mean robust_score over the hidden-flip benchmarks per trial, then over
    # trials, and its own rank interval once every planned transfer trial is complete (provisional before);
    # transfer is null until one of its trials is complete. Not part of the headline.
    transfer: EstimatePublic | None
    transfer_provisional: bool
    transfer_rank_best: int | None
    transfer_rank_worst: int | None
    # The hidden flip design the transfer score is of (null with no transfer score). Only the board's flip_design
    # is ranked; an entry whose transfer trials are all of an older design shows them, marked, with no rank.
    transfer_flip_design: int | None


class MetricPublic(BaseModel):
    name: str
    description: str
    higher_is_better: bool


class LeaderboardPublic(BaseModel):
    suite: str
    harness_version: str  # only results of this version are ranked
    benchmarks: list[str]
    transfer_benchmarks: list[str]  # the same benchmarks with a hidden flip: the transfer score's
    flip_design: int  # the hidden flip's current design: only its transfer trials are ranked
    trials_planned: int
    metrics: list[MetricPublic]
    data: list[LeaderboardEntryPublic]
    count: int


class PairedDifferencePublic(BaseModel):
    """Entry a's robust_score minus entry b's over the trials both have: "headline" or one benchmark."""

    a_id: int
    b_id: int
    scope: str  # "headline", "transfer" or a benchmark's name
    difference: EstimatePublic
    # a better or worse than b, by Holm at 95 % family-wise over the comparison's differences of its track (the
    # headline and announced-flip benchmarks, or the transfer track); null: no claim
    claim: Literal["better", "worse"] | None
    paired: bool  # False when one of the two was recorded on another machine: Welch's unpaired interval


class ComparePublic(BaseModel):
    suite: str
    harness_version: str
    benchmarks: list[str]
    transfer_benchmarks: list[str]  # the same benchmarks with a hidden flip: the transfer score's
    flip_design: int  # the hidden flip's current design: transfer scores of another are shown, never compared
    trials_planned: int
    data: list[LeaderboardEntryPublic]  # in the order asked for
    differences: list[PairedDifferencePublic]  # every pair (a before b in `data`), headline and each benchmark
