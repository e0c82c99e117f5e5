"""The leaderboard of each suite as last computed, and its JSON: computed again when the database's marker moves."""

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

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


ComputeBoard = Callable[[Session, str], LeaderboardPublic]


class LeaderboardCache:
    """One per app. A read within `refresh_seconds` of the last look at the database's marker touches neither
    the database nor a worker thread; a later read looks at the marker (one indexed query) on a worker thread, and
    computes the board again only if the marker moved. So a finished run shows within `refresh_seconds`.

    A board is kept under the marker read before it was computed, so it is never older than its marker.
    """

    def __init__(
        self,
        open_session: Callable[[], AbstractContextManager[Session]],
        refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._open_session = open_session
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._boards: dict[str, CachedLeaderboard] = {}
        self._fresh_until: dict[str, float] = {}
        # One look at a time: when a board goes stale, every request arriving would otherwise start its own.
        self._refreshing = threading.Lock()

    async def get(self, suite: str, compute: ComputeBoard) -> CachedLeaderboard:
        if (cached := self._fresh(suite)) is not None:
            return cached
        return await run_in_threadpool(self._refresh, suite, compute)

    def _refresh(self, suite: str, compute: ComputeBoard) -> CachedLeaderboard:
        with self._refreshing:
            if (cached := self._fresh(suite)) is not None:  # refreshed while this request waited
                return cached
            looked_at = self._clock()
            with self._open_session() as session:
                marker = queries.leaderboard_marker(session, suite)
                cached = self._boards.get(suite)
                if cached is None or cached.marker != marker:
                    cached = CachedLeaderboard(marker, compute(session, suite))
                    self._boards[suite] = cached
            self._fresh_until[suite] = looked_at + self._refresh_seconds
            return cached

    def _fresh(self, suite: str) -> CachedLeaderboard | None:
        if self._clock() < self._fresh_until.get(suite, float("-inf")):
            return self._boards[suite]
        return None
