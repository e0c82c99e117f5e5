"""Error bodies: every 4xx and 503 is JSON whose `detail` says what to fix; no request yields a 500."""

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    """Every 4xx and 503: a sentence saying what to fix."""

    detail: str


class FieldProblem(BaseModel):
    field: str  # where it is, e.g. body.name or query.limit
    message: str


class InvalidRequest(ErrorBody):
    """A 422. `errors` lists the fields that failed the request's schema; a refused file's content lists none."""

    errors: list[FieldProblem] = []


class DuplicateSubmission(ErrorBody):
    """A 409 on upload: this participant already submitted this exact file to this suite."""

    existing_submission_id: int


class NotReady(ErrorBody):
    """A 503 from /readyz: each part's state, "ok" or the kind of error met."""

    database: str
    broker: str


RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again", "schema": {"type": "integer"}}}
CHALLENGE = {"WWW-Authenticate": {"description": "Bearer: how to send a token", "schema": {"type": "string"}}}
# status -> what the route's OpenAPI description says of it; the models are the bodies the handlers below write.
REFUSALS: dict[int, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "a form body that cannot be parsed as multipart/form-data"},
    401: {"model": ErrorBody, "description": "no token, or a wrong one", "headers": CHALLENGE},
    404: {"model": ErrorBody, "description": "no such resource, or not yours"},
    409: {"model": ErrorBody, "description": "in conflict with what is stored"},
    413: {"model": ErrorBody, "description": "the request body is over the upload limit"},
    415: {"model": ErrorBody, "description": "not a multipart/form-data upload"},
    422: {"model": InvalidRequest, "description": "a malformed or invalid parameter, field or file"},
    429: {"model": ErrorBody, "description": "too many failed tokens, or uploads in a day", "headers": RETRY_AFTER},
    503: {
        "model": ErrorBody,
        "description": "a service the request needs (the database, the sandbox's check) is busy or down",
        "headers": RETRY_AFTER,
    },
}
# Seconds a client waits after a 503 from the database: a write lock held by a worker's commit, or a PostgreSQL
# restart, is gone in seconds; longer outages are met again and told again.
DATABASE_RETRY_SECONDS = 5


def error_responses(
    *statuses: int, bodies: Mapping[int, type[ErrorBody]] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses=` of a route that can refuse with these statuses; `bodies` names richer ones."""
    bodies = bodies or {}
    return {status: {**REFUSALS[status], "model": bodies.get(status, REFUSALS[status]["model"])} for status in statuses}


class ApiError(Exception):
    """A refusal: a sentence for the client and, optionally, more JSON fields (the existing submission...)."""

    def __init__(self, status_code: int, detail: str, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = headers
        self.extra = extra


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(PoolTimeoutError, _database_unavailable)


async def _api_error(_request: Request, error: ApiError) -> JSONResponse:
    return JSONResponse({"detail": error.detail, **error.extra}, error.status_code, headers=error.headers)


async def _invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
    # FastAPI's default body echoes the offending input, which for an upload can be bytes that are not JSON.
    problems = [
        {
            "field": ".".join(str(part) for part in problem["loc"]),
            # Our validators' sentences come prefixed with pydantic's "Value error, ": the sentence is enough.
            "message": problem["msg"].removeprefix("Value error, "),
        }
        for problem in error.errors()
    ]
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return JSONResponse({"detail": f"invalid request: {summary}", "errors": problems}, 422)


async def _http_error(_request: Request, error: HTTPException) -> JSONResponse:
    return JSONResponse({"detail": error.detail}, error.status_code, headers=getattr(error, "headers", None))


async def _database_unavailable(request: Request, error: Exception) -> JSONResponse:
    """A database that is locked past the busy timeout, refuses connections, or has none free in the pool: the
    request is sound and worth repeating. The log names the path and the driver's first line, never the statement
    or its parameters (SQLAlchemy's own message carries both)."""
    reason = str(getattr(error, "orig", None) or error).partition("\n")[0]
    logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, reason)
    return JSONResponse(
        {"detail": "the database is busy or unreachable right now; try again in a few seconds"},
        503,
        headers={"Retry-After": str(DATABASE_RETRY_SECONDS)},
    )


class UnexpectedErrors:
    """Answers an exception no handler took with a JSON 500 and logs it.

    Starlette's own last-resort handler sits outside every middleware, so its answer would carry no security
    headers; this one sits inside them.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_noting_start)
        except Exception:
            logger.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if started:  # half an answer is out: only closing the connection is left
                raise
            answer = JSONResponse({"detail": "internal error; the administrators have the details in the logs"}, 500)
            await answer(scope, receive, send)
