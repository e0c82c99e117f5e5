"""/api/compare: two to four leaderboard entries side by side, with the paired differences between them."""

from typing import Annotated

from fastapi import APIRouter, Query

from api.board import compared_ids, differences_between
from api.deps import LeaderboardDep, SettingsDep
from api.errors import ApiError, error_responses
from api.schemas import MAX_DB_INTEGER, ComparePublic

router = APIRouter(prefix="/api", tags=["leaderboard"])

# Read as text, so that one value may list them all (ids=1,2: the pages' links), and described as what they are,
# submission ids: a generated client takes integers and sends ids=1&ids=2.
IdsQuery = Annotated[
    list[str],
    Query(
        default_factory=list,
        description="two to four submission ids of the leaderboard: ids=1,2 or ids=1&ids=2",
        json_schema_extra={"items": {"type": "integer", "minimum": 1, "maximum": MAX_DB_INTEGER}},
    ),
]


@router.get(
    "/compare",
    operation_id="compare_entries",
    response_model=ComparePublic,
    responses=error_responses(404, 422, 503),  # 503: the first read of a suite's board, on a database busy or down
)
def read_comparison(leaderboard: LeaderboardDep, ids: IdsQuery, settings: SettingsDep) -> ComparePublic:
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
        transfer_benchmarks=board.transfer_benchmarks,
        flip_design=board.flip_design,
        trials_planned=board.trials_planned,
        data=[entries[submission_id] for submission_id in wanted],
        differences=differences_between(leaderboard, wanted, settings),
    )
