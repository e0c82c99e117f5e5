"""What routes depend on, as annotated aliases: settings, session, caller, broker, loss checker, path ids, the
suite's leaderboard."""

from collections.abc import Iterator
from typing import Annotated

from celery import Celery
from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.auth_rate_limit import AuthFailureLimiter
from api.board import compute_leaderboard
from api.errors import ApiError
from api.leaderboard_cache import CachedLeaderboard, LeaderboardCache
from api.schemas import MAX_DB_INTEGER
from api.validation import LossChecker
from db import queries
from db.models import Participant
from db.session import session_factory
from harness.registry import Suite
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


SuiteQuery = Annotated[
    Suite | None, Query(description="official, proxy or smoke; default: the suite this service runs")
]


async def get_leaderboard(request: Request, settings: SettingsDep, suite: SuiteQuery = None) -> CachedLeaderboard:
    """The suite's leaderboard from the app's cache, computed again only after its marker moved.

    The first read of a suite (and every read with `leaderboard_refresh_seconds` = 0) computes the board in the
    request, so a database that is busy or down answers it 503 (api/errors.py); later reads are served from memory.
    """
    cache: LeaderboardCache = request.app.state.leaderboard_cache
    return await cache.get(suite or settings.suite, compute_leaderboard(settings))


LeaderboardDep = Annotated[CachedLeaderboard, Depends(get_leaderboard)]
