"""/api/submissions: upload, read, list and cancel one's own submissions; anyone reads a visible one's progress."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request, Response

from api.board import comparisons_for
from api.deps import (
    CeleryDep,
    LossCheckerDep,
    OptionalParticipantDep,
    ParticipantDep,
    SessionDep,
    SettingsDep,
    SubmissionIdPath,
)
from api.errors import ApiError, DuplicateSubmission, error_responses
from api.intake import accept_submission, read_upload, require_multipart_form, upload_filename
from api.schemas import (
    MAX_DB_INTEGER,
    Page,
    RunProgressPublic,
    RunPublic,
    SubmissionAccepted,
    SubmissionCode,
    SubmissionCreate,
    SubmissionDetail,
    SubmissionProgressPublic,
    SubmissionPublic,
)
from db import queries
from db.models import Participant, Run, Submission, SubmissionStatus
from scoring.plan import suite_plan

router = APIRouter(prefix="/api/submissions", tags=["submissions"])
LOCATION = {"Location": {"description": "the submission's URL, as `url`", "schema": {"type": "string"}}}


@router.post(
    "",
    operation_id="create_submission",
    status_code=202,
    response_model=SubmissionAccepted,
    dependencies=[Depends(require_multipart_form)],
    responses={
        202: {"description": "validated and queued; poll `url` for progress", "headers": LOCATION},
        **error_responses(400, 401, 409, 413, 415, 422, 429, 503, bodies={409: DuplicateSubmission}),
    },
)
def create_submission(
    request: Request,
    response: Response,
    session: SessionDep,
    participant: ParticipantDep,
    settings: SettingsDep,
    celery: CeleryDep,
    check: LossCheckerDep,
    # One multipart object, file included: the description then has one request body a generated client sends.
    form: Annotated[SubmissionCreate, Form(media_type="multipart/form-data")],
) -> SubmissionAccepted:
    """Validates the file in the sandbox, stores it and queues one run per benchmark and seed."""
    filename = upload_filename(form.file.filename)
    code = read_upload(form.file.file.read(settings.max_file_bytes + 1), settings.max_file_bytes, filename)
    plan = suite_plan(settings, settings.suite)
    submission = accept_submission(session, participant, form, code, filename, plan, settings, check, celery)
    url = _url(request, submission)
    response.headers["Location"] = url
    return SubmissionAccepted(id=submission.id, url=url, status=submission.status)


@router.get(
    "",
    operation_id="list_submissions",
    response_model=Page[SubmissionPublic],
    responses=error_responses(401, 422, 429, 503),
)
def list_own_submissions(
    request: Request,
    session: SessionDep,
    participant: ParticipantDep,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INTEGER)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    status: SubmissionStatus | None = None,
) -> Page[SubmissionPublic]:
    """The caller's own submissions, newest first."""
    submissions, count = queries.submissions.list_submissions(
        session, participant_id=participant.id, offset=offset, limit=limit, status=status
    )
    return Page(data=[_public(request, s) for s in submissions], count=count)


@router.get(
    "/{submission_id}",
    operation_id="get_submission",
    response_model=SubmissionDetail,
    responses=error_responses(401, 404, 422, 429, 503),
)
def read_submission(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    participant: ParticipantDep,
    submission_id: SubmissionIdPath,
) -> SubmissionDetail:
    """Status, queue position and estimated start, each run's progress, metrics and errors, and its paired
    comparisons."""
    return _detail(request, session, settings, _visible(session, submission_id, participant))


@router.get(
    "/{submission_id}/public",
    operation_id="get_public_submission",
    response_model=SubmissionProgressPublic,
    responses=error_responses(401, 404, 422, 429, 503),
    # FastAPI declares the bearer token it sees in the dependencies; the `{}` it appends this to makes it
    # optional, as OpenAPI says it: anyone reads a visible submission, a token shows its owner a hidden one.
    openapi_extra={"security": [{}]},
)
def read_public_progress(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: OptionalParticipantDep,
    submission_id: SubmissionIdPath,
) -> SubmissionProgressPublic:
    """Anyone: name, description, participant, status, queue position, each run's progress, curve and metrics by
    benchmark and trial, and paired comparisons with the baselines, published methods and leader; no code, error
    or log.

    A hidden submission answers only its owner and admins (with their token), like one that does not exist.
    """
    submission = queries.submissions.public_submission(session, submission_id, viewer)
    if submission is None:
        raise ApiError(404, f"no visible submission {submission_id}; the leaderboard at / lists them")
    return SubmissionProgressPublic.from_row(
        submission,
        participant=submission.participant.display_name,
        **_progress(request, session, settings, submission),
        runs=[RunProgressPublic.model_validate(run) for run in _shown_runs(submission)],
    )


@router.get(
    "/{submission_id}/code",
    operation_id="get_submission_code",
    response_model=SubmissionCode,
    responses=error_responses(401, 404, 422, 429, 503),
)
def read_code(session: SessionDep, participant: ParticipantDep, submission_id: SubmissionIdPath) -> SubmissionCode:
    """The uploaded file, for its owner and admins."""
    submission = _visible(session, submission_id, participant)
    return SubmissionCode(id=submission.id, sha256=submission.sha256, code=submission.code)


@router.post(
    "/{submission_id}/cancel",
    operation_id="cancel_submission",
    response_model=SubmissionDetail,
    responses=error_responses(401, 404, 409, 422, 429, 503),
)
def cancel_submission(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    participant: ParticipantDep,
    submission_id: SubmissionIdPath,
) -> SubmissionDetail:
    """Cancels the queued runs and stops the running ones (at their next heartbeat or epoch)."""
    submission = _visible(session, submission_id, participant)
    if submission.status not in (SubmissionStatus.QUEUED, SubmissionStatus.RUNNING):
        raise ApiError(409, f"submission {submission.id} has already finished ({submission.status}); nothing to cancel")
    queries.submissions.cancel_submission(session, submission)
    session.commit()
    return _detail(request, session, settings, submission)


def _visible(session: SessionDep, submission_id: int, participant: Participant) -> Submission:
    submission = queries.submissions.submission_for(session, submission_id, participant)
    if submission is None:
        raise ApiError(404, f"no submission {submission_id} of yours; GET /api/submissions lists them")
    return submission


def _url(request: Request, submission: Submission) -> str:
    return str(request.url_for("read_submission", submission_id=submission.id))


def _public(request: Request, submission: Submission) -> SubmissionPublic:
    return SubmissionPublic.from_row(submission, url=_url(request, submission))


def _detail(request: Request, session: SessionDep, settings: SettingsDep, submission: Submission) -> SubmissionDetail:
    return SubmissionDetail.from_row(
        submission,
        url=_url(request, submission),
        **_progress(request, session, settings, submission),
        runs=[RunPublic.model_validate(run) for run in _shown_runs(submission)],
    )


def _progress(request: Request, session: SessionDep, settings: SettingsDep, submission: Submission) -> dict:
    """The fields of SubmissionProgress: the queue's estimates, the planned trials and the paired comparisons."""
    estimate = queries.queue_position.queue_estimate(session, submission)
    comparisons, leads = comparisons_for(request, session, settings, submission)
    return {
        "queue_position": estimate.position if estimate else None,
        "estimated_start": estimate.estimated_start if estimate else None,
        "estimated_finish": estimate.estimated_finish if estimate else None,
        "trials_planned": submission.trials_planned,
        "comparisons": comparisons,
        "leads": leads,
    }


def _shown_runs(submission: Submission) -> list[Run]:
    """The current runs, then those of a rerun under way (which replace them once all have succeeded)."""
    return [*submission.runs, *submission.replacement_runs]
