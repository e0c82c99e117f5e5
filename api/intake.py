"""Accepting an upload: form, size, encoding, duplicate and daily limit first (cheap), then the sandbox's check."""

import hashlib
import logging
from datetime import timedelta

from celery import Celery
from fastapi import Request
from sqlalchemy.orm import Session

from api.body_limit import over_the_limit
from api.errors import ApiError
from api.schemas import SubmissionCreate
from api.validation import CheckUnavailableError, LossChecker
from db import queries
from db.models import Participant, Submission, utcnow
from harness.contract import DEFAULT_FILENAME
from harness.plan import SuitePlan
from runqueue.dispatch import dispatch_runs
from settings import Settings

logger = logging.getLogger(__name__)

LIMIT_WINDOW = timedelta(days=1)
UPLOAD_FIELDS = ("name", "description", "link", "file")
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")  # a urlencoded form lacks the file: 422
# Linux allows 255 bytes in a file name and the check writes the file under its name: 60 characters of UTF-8
# take at most 240 bytes.
MAX_FILENAME_CHARACTERS = 60
CHECK_RETRY_SECONDS = 60  # a check that could not start waits on a busy machine or a restarting sandbox pool


async def require_multipart_form(request: Request) -> None:
    """A form body with each field once (a dependency: FastAPI has already parsed the form)."""
    if not request.headers.get("content-type", "").lower().startswith(FORM_TYPES):
        raise ApiError(
            415,
            "the body is not multipart/form-data; send the file and its name as form fields, "
            f"e.g. curl -F file=@{DEFAULT_FILENAME} -F name='my loss'",
        )
    form = await request.form()
    for field in UPLOAD_FIELDS:
        if (count := len(form.getlist(field))) > 1:
            raise ApiError(422, f"the form field {field!r} was sent {count} times; send it once")


def upload_filename(sent: str | None) -> str:
    """The name messages cite the upload by: the basename it was sent with, printable and short, or the default."""
    basename = (sent or "").replace("\\", "/").rsplit("/", 1)[-1]  # old browsers on Windows send the whole path
    name = "".join(character for character in basename if character.isprintable()).strip()
    name = name[:MAX_FILENAME_CHARACTERS]
    return DEFAULT_FILENAME if name in ("", ".", "..") else name


def read_upload(raw: bytes, max_bytes: int, filename: str) -> str:
    """The uploaded file as text; `raw` is at most max_bytes + 1 bytes: enough to see it is too large."""
    if len(raw) > max_bytes:
        raise ApiError(413, over_the_limit(max_bytes))
    if not raw.strip():
        raise ApiError(422, "the file is empty; upload a Python file that defines class RobustLoss")
    try:
        code = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ApiError(
            422, f"{filename}: not UTF-8 text (byte {error.start} is {raw[error.start]:#04x}); save the file as UTF-8"
        ) from None
    if "\x00" in code:  # Python refuses to compile it, and PostgreSQL cannot store it
        raise ApiError(422, f"the file contains a NUL byte (at byte {raw.index(0)}); save it as plain UTF-8 text")
    return code


def accept_submission(
    session: Session,
    participant: Participant,
    form: SubmissionCreate,
    code: str,
    filename: str,
    plan: SuitePlan,
    settings: Settings,
    check: LossChecker,
    celery: Celery,
) -> Submission:
    """Stores the submission and its plan's queued runs and sends them to the broker, or raises an ApiError."""
    sha256 = hashlib.sha256(code.encode("utf-8")).hexdigest()  # the harness's sha256_of, without importing it
    _refuse_duplicate(session, participant, sha256, plan.suite)
    _enforce_daily_limit(session, participant, settings.submissions_per_day)
    _validate(code, filename, check)
    submission = queries.submissions.create_submission(
        session,
        participant,
        plan=plan,
        name=form.name,
        description=form.description,
        link=form.link,
        code=code,
        sha256=sha256,
        filename=filename,
    )
    session.commit()  # before sending: a worker must find the runs
    dispatch_runs(celery, session, [run.id for run in submission.runs])
    session.commit()
    logger.info("submission %d queued for participant %d (%s)", submission.id, participant.id, sha256[:12])
    return submission


def _refuse_duplicate(session: Session, participant: Participant, sha256: str, suite: str) -> None:
    existing = queries.submissions.find_duplicate(session, participant.id, sha256, suite)
    if existing is not None:
        raise ApiError(
            409,
            f"this exact file was already submitted as submission {existing.id} ({existing.name!r}, "
            f"{existing.status}); change the code to submit again",
            existing_submission_id=existing.id,
        )


def _enforce_daily_limit(session: Session, participant: Participant, per_day: int) -> None:
    now = utcnow()
    recent = queries.submissions.counted_submission_times(session, participant.id, now - LIMIT_WINDOW)
    if len(recent) >= per_day:
        free_at = recent[-per_day] + LIMIT_WINDOW
        wait = max(1, int((free_at - now).total_seconds()))
        raise ApiError(
            429,
            f"the limit of {per_day} submissions per day is reached; the next one is possible at "
            f"{free_at:%Y-%m-%d %H:%M} UTC (cancelled submissions and infrastructure failures do not count)",
            headers={"Retry-After": str(wait)},
        )


def _validate(code: str, filename: str, check: LossChecker) -> None:
    try:
        verdict = check(code, filename)
    except CheckUnavailableError as error:
        raise ApiError(
            503,
            f"validation is unavailable right now ({error}); try again in a minute",
            headers={"Retry-After": str(CHECK_RETRY_SECONDS)},
        ) from None
    if not verdict.ok:
        raise ApiError(422, verdict.error or "the file did not pass validation")
