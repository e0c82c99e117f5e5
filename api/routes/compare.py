"""/api/compare: two to four leaderboard entries side by side, with the paired differences between them."""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import MAX_DB_INTEGER
from api.errors import ApiError, error_responses
from api.leaderboard_cache import CachedLeaderboard
from api.routes.leaderboard import LeaderboardDep
from api.schemas import EstimatePublic, LeaderboardEntryPublic
from db.leaderboard import paired_differences

router = APIRouter(prefix="/api", tags=["leaderboard"])

MIN_COMPARED, MAX_COMPARED = 2, 4  # two is a comparison; past four the side-by-side table no longer fits a screen

IdsQuery = Annotated[
    list[str],
    Query(default_factory=list, description="two to four submission ids of the leaderboard: ids=1,2 or ids=1&ids=2"),
]


class PairedDifferencePublic(BaseModel):
    """Entry a's robust_score minus entry b's over the trials both have: "headline" or one benchmark."""

    a_id: int
    b_id: int
    scope: str
    difference: EstimatePublic


class ComparePublic(BaseModel):
    suite: str
    harness_version: str
    benchmarks: list[str]
    trials_planned: int
    data: list[LeaderboardEntryPublic]  # in the order asked for
    differences: list[PairedDifferencePublic]  # every pair (a before b in `data`), headline and each benchmark


def compared_ids(raw: list[str]) -> list[int]:
    """Two to four distinct submission ids, in the order given; ValueError with a sentence saying what to fix."""
    parts = [part.strip() for value in raw for part in value.split(",") if part.strip()]
    if not all(
        part.isascii() and part.isdecimal() and len(part) <= 10 and 1 <= int(part) <= MAX_DB_INTEGER for part in parts
    ):
        raise ValueError("ids must be submission ids (whole numbers from 1) separated by commas, e.g. ids=1,2")
    ids = list(dict.fromkeys(int(part) for part in parts))
    if not MIN_COMPARED <= len(ids) <= MAX_COMPARED:
        raise ValueError(f"compare two to four different entries, e.g. ids=1,2; got {len(ids)}")
    return ids


@router.get(
    "/compare",
    operation_id="compare_entries",
    response_model=ComparePublic,
    responses=error_responses(404, 422, 503),  # 503: the first read of a suite's board, on a database busy or down
)
def read_comparison(leaderboard: LeaderboardDep, ids: IdsQuery) -> ComparePublic:
    """Entries of the suite's leaderboard side by side, and their paired differences per benchmark and headline."""
    try:
        wanted = compared_ids(ids)
    except ValueError as error:
        raise ApiError(422, str(error)) from None
    board = leaderboard.board
    entries = {entry.submission_id: entry for entry in board.data}
    missing = [submission_id for submission_id in wanted if submission_id not in entries]
    if missing:
        raise ApiError(
            404,
            f"not on the {board.suite} leaderboard: {', '.join(map(str, missing))}; only finished, visible entries "
            "of one suite can be compared (choose the suite with ?suite=)",
        )
    return ComparePublic(
        suite=board.suite,
        harness_version=board.harness_version,
        benchmarks=board.benchmarks,
        trials_planned=board.trials_planned,
        data=[entries[submission_id] for submission_id in wanted],
        differences=_differences(leaderboard, wanted),
    )


def _differences(leaderboard: CachedLeaderboard, wanted: list[int]) -> list[PairedDifferencePublic]:
    """Every pair of `wanted` (a before b), a - b over the trials they share, from the board's own per-trial scores."""
    scores = {entry.submission.id: entry.scores for entry in leaderboard.entries}
    benchmarks = leaderboard.board.benchmarks
    return [
        PairedDifferencePublic(a_id=a, b_id=b, scope=scope, difference=EstimatePublic.model_validate(difference))
        for index, a in enumerate(wanted)
        for b in wanted[index + 1 :]
        for scope, difference in paired_differences(scores[a], scores[b], benchmarks)
    ]
