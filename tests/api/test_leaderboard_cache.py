"""The leaderboard cache: computed once while nothing changes, computed again once a submission finishes."""

import asyncio
from contextlib import nullcontext

from sqlalchemy.orm import Session

from api.leaderboard_cache import CachedLeaderboard, LeaderboardCache
from api.schemas import LeaderboardPublic
from db import queries
from harness.registry import Suite
from settings import Settings


def test_a_finished_submission_is_on_the_next_leaderboard_read_and_a_hidden_one_leaves_it(client, factory, session):
    first = factory.submission()
    factory.finish(first)
    assert [e["submission_id"] for e in client.get("/api/leaderboard").json()["data"]] == [first.id]
    second = factory.submission()
    factory.finish(second, robust_score=0.9)
    assert [e["submission_id"] for e in client.get("/api/leaderboard").json()["data"]] == [second.id, first.id]
    queries.submissions.set_hidden(session, second, True)
    assert [e["submission_id"] for e in client.get("/api/leaderboard").json()["data"]] == [first.id]


def test_with_the_default_settings_a_hide_from_another_process_shows_on_the_next_read(factory, session):
    """The admin command hides in its own process: the API learns of it from the database's marker alone."""
    refresh_seconds = Settings.model_fields["leaderboard_refresh_seconds"].default
    cache = LeaderboardCache(lambda: nullcontext(session), refresh_seconds, clock=lambda: 0.0)  # no time passes
    boards = Boards()
    shown = factory.submission()
    factory.finish(shown)
    first = read(cache, boards)
    queries.submissions.set_hidden(session, shown, True)
    assert read(cache, boards) is not first and len(boards.computed) == 2


class Boards:
    """A stand-in computation that records each board it computes."""

    def __init__(self) -> None:
        self.computed: list[LeaderboardPublic] = []

    def __call__(self, session: Session, suite: str) -> tuple[LeaderboardPublic, list]:
        board = LeaderboardPublic(
            suite=suite, harness_version="1", benchmarks=[], transfer_benchmarks=[], flip_design=2, trials_planned=1,
            metrics=[], data=[], count=len(self.computed),
        )  # fmt: skip
        self.computed.append(board)
        return board, []


def read(cache: LeaderboardCache, compute: Boards, suite: Suite = Suite.SMOKE) -> CachedLeaderboard:
    return asyncio.run(cache.get(suite, compute))


def test_the_board_is_computed_once_while_nothing_changes_and_again_after_a_change(factory, session):
    cache, boards = LeaderboardCache(lambda: nullcontext(session), refresh_seconds=0), Boards()
    first = read(cache, boards)
    factory.submission()  # queued: not a change of the leaderboard
    assert read(cache, boards) is first and len(boards.computed) == 1
    assert first.page_json(0, 100) == first.board.model_dump_json().encode()
    assert first.page_json(0, 100) is first.page_json(0, 100)  # serialised once
    factory.finish(factory.submission())
    assert read(cache, boards).board is boards.computed[1]
    read(cache, boards, Suite.PROXY)  # each suite has its own board
    assert len(boards.computed) == 3


def test_with_a_refresh_time_a_read_never_waits_and_a_change_shows_after_one_background_look(factory, session):
    now, looks = [0.0], []

    def open_session() -> nullcontext[Session]:
        looks.append(now[0])
        return nullcontext(session)

    cache, boards = LeaderboardCache(open_session, refresh_seconds=1.0, clock=lambda: now[0]), Boards()

    async def scenario() -> None:
        first = await cache.get(Suite.SMOKE, boards)  # no board yet: this read waits for it
        factory.finish(factory.submission())
        now[0] = 0.9
        assert await cache.get(Suite.SMOKE, boards) is first and looks == [0.0]  # within 1 s: no look
        now[0] = 1.0
        assert await cache.get(Suite.SMOKE, boards) is first  # stale: answered at once, a look starts
        assert await _changed(cache, boards, first) and looks == [0.0, 1.0]  # one look, the new board
        assert boards.computed[1] is (await cache.get(Suite.SMOKE, boards)).board and looks == [0.0, 1.0]

    asyncio.run(scenario())


async def _changed(cache: LeaderboardCache, boards: Boards, old: CachedLeaderboard) -> bool:
    for _ in range(500):
        if await cache.get(Suite.SMOKE, boards) is not old:
            return True
        await asyncio.sleep(0.01)
    return False


def test_a_look_that_fails_leaves_the_board_served_and_a_later_read_looks_again(session):
    now, failing, looks = [0.0], [False], []

    def open_session() -> nullcontext[Session]:
        if failing[0]:
            raise OSError("the database is down")
        looks.append(now[0])
        return nullcontext(session)

    cache, boards = LeaderboardCache(open_session, refresh_seconds=1.0, clock=lambda: now[0]), Boards()

    async def scenario() -> None:
        first = await cache.get(Suite.SMOKE, boards)
        now[0], failing[0] = 5.0, True
        for _ in range(20):  # answered from memory while every look fails
            assert await cache.get(Suite.SMOKE, boards) is first
            await asyncio.sleep(0.01)
        failing[0] = False
        for _ in range(500):
            await cache.get(Suite.SMOKE, boards)
            if len(looks) == 2:
                break
            await asyncio.sleep(0.01)
        for _ in range(10):  # fresh again until 6.0: no more looks
            assert await cache.get(Suite.SMOKE, boards) is first
            await asyncio.sleep(0.01)
        assert looks == [0.0, 5.0] and len(boards.computed) == 1  # nothing changed: nothing computed again

    asyncio.run(scenario())


def test_the_leaderboard_is_paged_by_rank_and_counts_the_whole_board(client, factory):
    ranked = []
    for score in (0.9, 0.8, 0.7):
        submission = factory.submission()
        factory.finish(submission, robust_score=score)
        ranked.append(submission.id)
    for offset, limit in [(0, 2), (1, 1), (1, 5), (3, 1)]:
        page = client.get("/api/leaderboard", params={"offset": offset, "limit": limit}).json()
        assert [e["submission_id"] for e in page["data"]] == ranked[offset : offset + limit]
        assert page["count"] == 3
    for bad in [{"limit": 0}, {"limit": 1001}, {"offset": -1}]:
        refused = client.get("/api/leaderboard", params=bad)
        assert refused.status_code == 422 and refused.json()["detail"], bad
