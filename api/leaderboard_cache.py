"""The leaderboard of each suite as last computed, and its JSON: computed again when the database's marker moves."""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from api.schemas import LeaderboardPublic
from db import queries

PAGES_KEPT = 64  # serialised pages kept per board; any other (offset, limit) is serialised on each request


@dataclass(frozen=True)
class CachedLeaderboard:
    marker: int  # queries.leaderboard_marker, read before the board was computed
    board: LeaderboardPublic
    _pages: dict[tuple[int, int], bytes] = field(default_factory=dict)

    def page_json(self, offset: int, limit: int) -> bytes:
        """The JSON of `limit` entries from rank `offset + 1`, `count` still the whole board's: serialising is
        most of a request's time (a whole 1,000-entry board is 0.8 MB), so the pages asked for are kept."""
        if (cached := self._pages.get((offset, limit))) is not None:
            return cached
        page = self.board.model_copy(update={"data": self.board.data[offset : offset + limit]})
        json = page.model_dump_json().encode()
        if len(self._pages) < PAGES_KEPT:  # a racing writer at worst serialises one page twice
            self._pages[(offset, limit)] = json
        return json


class LeaderboardCache:
    """One per app. Each read costs one indexed query for the marker; a finished run shows on the next read.

    A board is kept under the marker read before it was computed, so it is never older than its marker, and a
    reader uses it only when the marker it reads is the same.
    """

    def __init__(self) -> None:
        self._boards: dict[str, CachedLeaderboard] = {}
        # One computation at a time: after a change, every request arriving would otherwise start its own.
        self._computing = threading.Lock()

    def get(self, session: Session, suite: str, compute: Callable[[], LeaderboardPublic]) -> CachedLeaderboard:
        marker = queries.leaderboard_marker(session, suite)
        if (cached := self._fresh(suite, marker)) is not None:
            return cached
        with self._computing:
            if (cached := self._fresh(suite, marker)) is not None:  # computed while this request waited
                return cached
            board = compute()
            cached = CachedLeaderboard(marker, board)
            self._boards[suite] = cached
            return cached

    def _fresh(self, suite: str, marker: int) -> CachedLeaderboard | None:
        cached = self._boards.get(suite)
        return cached if cached is not None and cached.marker == marker else None
