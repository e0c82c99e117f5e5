"""/api/leaderboard (JSON and CSV) and /api/benchmarks: public, no token needed."""

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

import harness
from api.deps import MAX_DB_INTEGER, SettingsDep
from api.errors import error_responses
from api.leaderboard_cache import CachedLeaderboard, LeaderboardCache
from api.schemas import BenchmarkPublic, LeaderboardEntryPublic, LeaderboardPublic, Page
from db import queries
from harness.registry import BENCHMARKS, Suite, benchmark_names
from harness.result import PUBLISHED_METRICS

router = APIRouter(prefix="/api")

SuiteQuery = Annotated[
    Suite | None, Query(description="official, proxy or smoke; default: the suite this service runs")
]
MAX_LEADERBOARD_PAGE = 1_000
CSV_METRICS = tuple(metric.name for metric in PUBLISHED_METRICS)  # per benchmark, as on the leaderboard page
# A spreadsheet runs a cell that starts with one of these as a formula: a submission name could carry one.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


async def get_leaderboard(request: Request, settings: SettingsDep, suite: SuiteQuery = None) -> CachedLeaderboard:
    """The suite's leaderboard from the app's cache, computed again only after a submission went on or off it."""
    cache: LeaderboardCache = request.app.state.leaderboard_cache
    return await cache.get(suite or settings.suite, _compute_leaderboard)


LeaderboardDep = Annotated[CachedLeaderboard, Depends(get_leaderboard)]


def _compute_leaderboard(session: Session, suite: Suite) -> LeaderboardPublic:
    benchmarks = benchmark_names(suite)
    entries = queries.leaderboard.leaderboard(session, suite, benchmarks, harness.HARNESS_VERSION)
    data = [
        LeaderboardEntryPublic(
            rank=entry.rank,
            submission_id=entry.submission.id,
            name=entry.submission.name,
            participant=entry.participant,
            link=entry.submission.link,
            kind=entry.submission.kind,
            mean_robust_score=entry.mean_robust_score,
            average_rank=entry.average_rank,
            benchmarks=entry.benchmarks,
            submitted_at=entry.submission.created_at,
        )
        for entry in entries
    ]
    return LeaderboardPublic(
        suite=suite,
        harness_version=harness.HARNESS_VERSION,
        benchmarks=benchmarks,
        data=data,
        count=len(data),
    )


@router.get(
    "/leaderboard",
    operation_id="get_leaderboard",
    tags=["leaderboard"],
    response_model=LeaderboardPublic,
    responses=error_responses(422),
)
async def read_leaderboard(
    leaderboard: LeaderboardDep,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INTEGER, description="entries to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LEADERBOARD_PAGE, description="entries to return")] = 100,
) -> Response:
    """Complete submissions of the current harness version, best mean robust_score first, baselines marked.

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
        **error_responses(422),
    },
)
def read_leaderboard_csv(leaderboard: LeaderboardDep) -> Response:
    """The leaderboard as CSV: rank, name, participant, kind, each benchmark's metrics, mean robust_score."""
    board = leaderboard.board
    columns = [f"{benchmark} {metric}" for benchmark in board.benchmarks for metric in CSV_METRICS]
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["rank", "name", "participant", "kind", *columns, "mean robust_score"])
    for entry in board.data:
        metrics = [entry.benchmarks[benchmark][metric] for benchmark in board.benchmarks for metric in CSV_METRICS]
        text = [_inert(entry.name), _inert(entry.participant)]
        writer.writerow([entry.rank, *text, entry.kind, *metrics, entry.mean_robust_score])
    filename = f"poisonbench-leaderboard-{board.suite}.csv"
    return Response(
        table.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _inert(text: str) -> str:
    """`text` as a spreadsheet shows it, never runs it (OWASP's advice: a leading apostrophe)."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


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
