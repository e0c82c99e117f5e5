"""What routes depend on, as annotated aliases: settings, session, caller, broker, loss checker."""

from collections.abc import Iterator
from typing import Annotated

from celery import Celery
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.errors import ApiError
from api.validation import LossChecker
from db import queries
from db.models import Participant
from db.session import get_engine
from settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(settings: SettingsDep) -> Iterator[Session]:
    with Session(get_engine(settings.sqlalchemy_url), expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_celery(request: Request) -> Celery:
    return request.app.state.celery


CeleryDep = Annotated[Celery, Depends(get_celery)]


def get_loss_checker(request: Request) -> LossChecker:
    return request.app.state.loss_checker


LossCheckerDep = Annotated[LossChecker, Depends(get_loss_checker)]

_bearer = HTTPBearer(auto_error=False)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def get_participant(
    session: SessionDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Participant:
    if credentials is None:
        raise ApiError(401, "missing token: send the header 'Authorization: Bearer <your token>'", _CHALLENGE)
    participant = queries.participant_by_token(session, credentials.credentials)
    if participant is None:
        raise ApiError(401, "invalid token: check it, or ask an administrator for a new one", _CHALLENGE)
    return participant


ParticipantDep = Annotated[Participant, Depends(get_participant)]
