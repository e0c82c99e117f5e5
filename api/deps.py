"""What routes depend on, as annotated aliases: settings, session, caller, broker, loss checker, path ids."""

from collections.abc import Iterator
from typing import Annotated

from celery import Celery
from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.auth_rate_limit import AuthFailureLimiter
from api.errors import ApiError
from api.validation import LossChecker
from db import queries
from db.models import Participant
from db.session import session_factory
from settings import Settings


async def get_settings(request: Request) -> Settings:  # async: a sync dependency costs a worker-thread hop
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(settings: SettingsDep) -> Iterator[Session]:
    with session_factory(settings.sqlalchemy_url)() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_celery(request: Request) -> Celery:
    return request.app.state.celery


CeleryDep = Annotated[Celery, Depends(get_celery)]


def get_loss_checker(request: Request) -> LossChecker:
    return request.app.state.loss_checker


LossCheckerDep = Annotated[LossChecker, Depends(get_loss_checker)]

# Ids and offsets beyond a PostgreSQL integer are answered 422 rather than met by a database error.
MAX_DB_INTEGER = 2**31 - 1
SubmissionIdPath = Annotated[int, Path(ge=1, le=MAX_DB_INTEGER, description="the submission's id")]

_bearer = HTTPBearer(auto_error=False)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def get_participant(request: Request, session: SessionDep, credentials: CredentialsDep) -> Participant:
    if credentials is None:
        raise ApiError(401, "missing token: send the header 'Authorization: Bearer <your token>'", _CHALLENGE)
    return _authenticate(request, session, credentials.credentials)


ParticipantDep = Annotated[Participant, Depends(get_participant)]


def get_optional_participant(
    request: Request, session: SessionDep, credentials: CredentialsDep
) -> Participant | None:
    """None for an anonymous caller; a token that is sent must still be valid."""
    return None if credentials is None else _authenticate(request, session, credentials.credentials)


def _authenticate(request: Request, session: Session, token: str) -> Participant:
    """The token's participant; a wrong token counts against the caller's address (api/auth_rate_limit.py)."""
    limiter: AuthFailureLimiter = request.app.state.auth_failures
    address = request.client.host if request.client else "unknown"
    limiter.refuse_if_blocked(address)
    participant = queries.participants.participant_by_token(session, token)
    if participant is None:
        limiter.record_failure(address)
        raise ApiError(401, "invalid token: check it, or ask an administrator for a new one", _CHALLENGE)
    return participant


OptionalParticipantDep = Annotated[Participant | None, Depends(get_optional_participant)]
