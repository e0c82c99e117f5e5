"""/api/leaderboard (JSON and CSV) and /api/benchmarks: public, no token needed."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import LeaderboardDep
from api.errors import error_responses
from api.leaderboard_csv import leaderboard_csv
from api.schemas import MAX_DB_INTEGER, BenchmarkPublic, LeaderboardPublic, Page
from harness.registry import BENCHMARKS, Suite

router = APIRouter(prefix="/api")

MAX_LEADERBOARD_PAGE = 1_000


@router.get(
    "/leaderboard",
    operation_id="get_leaderboard",
    tags=["leaderboard"],
    response_model=LeaderboardPublic,
    responses=error_responses(422, 503),
)
async def read_leaderboard(
    leaderboard: LeaderboardDep,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INTEGER, description="entries to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LEADERBOARD_PAGE, description="entries to return")] = 100,
) -> Response:
    """Submissions with a complete trial under the current harness version, by rank (1 + entries significantly
    better on paired trials), then mean headline; baselines and published methods marked, provisional ones too.

    A page of `limit` entries from rank `offset + 1`; `count` is the whole board's, and the CSV has every entry.
    """
    # async, as its dependency: a read of a fresh board takes no worker thread and no database connection, so it
    # never queues behind uploads and status reads that hold them.
    return Response(leaderboard.page_json(offset, limit), media_type="application/json")


@router.get(
    "/leaderboard.csv",
    operation_id="get_leaderboard_csv",
    tags=["leaderboard"],
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "headers": {
                "Content-Disposition": {"description": "attachment, with a file name", "schema": {"type": "string"}}
            },
        },
        **error_responses(422, 503),
    },
)
def read_leaderboard_csv(leaderboard: LeaderboardDep) -> Response:
    """The leaderboard as CSV, one row per entry in board order: rank, provisional, name, kind, participant, the
    headline's n, mean, sd and interval, the transfer rank and the same five of the transfer score (empty until it
    has a trial), then the same five for each benchmark and metric; 4 decimals."""
    board = leaderboard.board
    filename = f"poisonbench-leaderboard-{board.suite}.csv"
    return Response(
        leaderboard_csv(board),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/benchmarks",
    operation_id="list_benchmarks",
    tags=["benchmarks"],
    response_model=Page[BenchmarkPublic],
    responses=error_responses(422),
)
def list_benchmarks(
    suite: Annotated[Suite | None, Query(description="only this suite")] = None,
) -> Page[BenchmarkPublic]:
    """The registry: every benchmark of every suite (or of one)."""
    data = [BenchmarkPublic.model_validate(b) for b in BENCHMARKS.values() if suite is None or b.suite == suite]
    return Page(data=data, count=len(data))
