"""The leaderboard of each suite as last computed, and its JSON: computed again when the database's marker moves."""

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.schemas import LeaderboardPublic
from db import queries
from scoring.leaderboard import LeaderboardEntry

logger = logging.getLogger(__name__)

PAGES_KEPT = 64  # serialised pages kept per board; any other (offset, limit) is serialised on each request


@dataclass(frozen=True)
class CachedLeaderboard:
    marker: int  # queries.leaderboard.leaderboard_marker, read before the board was computed
    board: LeaderboardPublic
    entries: list[LeaderboardEntry]  # the board's per-trial scores, which paired comparisons are computed from
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


ComputeBoard = Callable[[Session, str], tuple[LeaderboardPublic, list[LeaderboardEntry]]]


class LeaderboardCache:
    """One per app, serving each suite's board from memory; the database's marker says when it changed.

    With `refresh_seconds` = 0 (the default) every read looks at the marker (one indexed query, one look at a
    time) and is answered from memory while it has not moved; a read that finds it moved waits for the board
    computed again (0.2-0.3 s for 1,000 submissions). So a finished run, and a hide by the admin command in
    another process, show on the next read.

    With `refresh_seconds` > 0 a read never waits once a board exists: within `refresh_seconds` of the last look
    at the marker it touches neither the database nor a worker thread; the first read after that starts one
    background look and is answered from the board it has. A change then shows within `refresh_seconds` plus one
    computation: more reads per second on a busy board, at the price of showing a hidden entry that long.

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
        self._background: dict[str, asyncio.Future[CachedLeaderboard]] = {}  # at most one look per suite
        # One look at a time: when a board goes stale, every request arriving would otherwise start its own.
        self._refreshing = threading.Lock()

    async def get(self, suite: str, compute: ComputeBoard) -> CachedLeaderboard:
        cached = self._boards.get(suite)
        if cached is None or self._refresh_seconds == 0:
            return await run_in_threadpool(self._refresh, suite, compute)
        if not self._is_fresh(suite) and suite not in self._background:
            look = asyncio.ensure_future(run_in_threadpool(self._refresh, suite, compute))
            self._background[suite] = look
            look.add_done_callback(lambda _: self._looked(suite))
        return cached

    def get_blocking(self, suite: str, compute: ComputeBoard, session: Session) -> CachedLeaderboard:
        """`get` for a sync route's worker thread: the board in memory, or computed here when it is stale, on the
        route's own `session`: a second session opened beside it would wait on its lock on SQLite (every
        transaction there begins IMMEDIATE) until the busy timeout."""
        cached = self._boards.get(suite)
        if cached is not None and self._refresh_seconds > 0 and self._is_fresh(suite):
            return cached
        return self._refresh(suite, compute, lambda: nullcontext(session))

    def _looked(self, suite: str) -> None:
        look = self._background.pop(suite)
        if not look.cancelled() and (error := look.exception()) is not None:
            # The board in memory goes on being served; the next read tries again.
            logger.warning("the %s leaderboard could not be refreshed: %r", suite, error)

    def _refresh(
        self,
        suite: str,
        compute: ComputeBoard,
        open_session: Callable[[], AbstractContextManager[Session]] | None = None,
    ) -> CachedLeaderboard:
        with self._refreshing:
            cached = self._boards.get(suite)
            if cached is not None and self._is_fresh(suite):  # refreshed while this one waited
                return cached
            looked_at = self._clock()
            with (open_session or self._open_session)() as session:
                marker = queries.leaderboard.leaderboard_marker(session, suite)
                if cached is None or cached.marker != marker:
                    cached = CachedLeaderboard(marker, *compute(session, suite))
                    self._boards[suite] = cached
            self._fresh_until[suite] = looked_at + self._refresh_seconds
            return cached

    def _is_fresh(self, suite: str) -> bool:
        # A board computed by a look still running has no time yet: it is not fresh until that look ends.
        return self._clock() < self._fresh_until.get(suite, float("-inf"))
