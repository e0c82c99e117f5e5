"""The leaderboard cache: computed once while nothing changes, computed again as soon as a submission finishes."""

from api.leaderboard_cache import LeaderboardCache
from api.schemas import LeaderboardPublic
from db import queries
from harness.registry import Suite


def test_a_finished_submission_is_on_the_next_leaderboard_read_and_a_hidden_one_leaves_it(client, factory, session):
    first = factory.submission()
    factory.finish(first)
    assert [e["submission_id"] for e in client.get("/api/leaderboard").json()["data"]] == [first.id]
    second = factory.submission()
    factory.finish(second, robust_score=0.9)
    assert [e["submission_id"] for e in client.get("/api/leaderboard").json()["data"]] == [second.id, first.id]
    queries.set_hidden(session, second, True)
    assert [e["submission_id"] for e in client.get("/api/leaderboard").json()["data"]] == [first.id]


def test_the_board_is_computed_once_while_nothing_changes_and_again_after_a_change(factory, session):
    cache = LeaderboardCache()
    computed: list[LeaderboardPublic] = []

    def compute() -> LeaderboardPublic:
        board = LeaderboardPublic(suite=Suite.SMOKE, harness_version="1", benchmarks=[], data=[], count=len(computed))
        computed.append(board)
        return board

    first = cache.get(session, Suite.SMOKE, compute)
    factory.submission()  # queued: not a change of the leaderboard
    assert cache.get(session, Suite.SMOKE, compute) is first and len(computed) == 1
    assert first.page_json(0, 100) == first.board.model_dump_json().encode()
    assert first.page_json(0, 100) is first.page_json(0, 100)  # serialised once
    factory.finish(factory.submission())
    assert cache.get(session, Suite.SMOKE, compute).board is computed[1]
    cache.get(session, Suite.PROXY, compute)  # each suite has its own board
    assert len(computed) == 3


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
