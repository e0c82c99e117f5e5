"""Participants and their tokens: creating, rotating, and finding one by token or name."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Participant
from db.tokens import new_token, token_matches, token_sha256


def create_participant(
    session: Session, display_name: str, is_admin: bool = False
) -> tuple[Participant, str]:
    """The new participant and its token, which is shown this once and never stored."""
    token = new_token()
    participant = Participant(display_name=display_name, token_sha256=token_sha256(token), is_admin=is_admin)
    session.add(participant)
    session.flush()
    return participant, token


def rotate_token(session: Session, participant: Participant) -> str:
    token = new_token()
    participant.token_sha256 = token_sha256(token)
    session.flush()
    return token


def participant_by_token(session: Session, token: str) -> Participant | None:
    participant = session.scalar(select(Participant).where(Participant.token_sha256 == token_sha256(token)))
    # The lookup is by hash; the constant-time comparison keeps a timing side channel out of the check itself.
    if participant is None or not token_matches(token, participant.token_sha256):
        return None
    return participant


def participant_by_name(session: Session, display_name: str) -> Participant | None:
    return session.scalar(select(Participant).where(Participant.display_name == display_name))


def list_participants(session: Session) -> Sequence[Participant]:
    return session.scalars(select(Participant).order_by(Participant.id)).all()
