"""/api/leaderboard (JSON and CSV) and /api/benchmarks: public, no token needed."""

import csv
import io
import itertools
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

import harness
from api.deps import MAX_DB_INTEGER, SettingsDep
from api.errors import error_responses
from api.leaderboard_cache import CachedLeaderboard, ComputeBoard, LeaderboardCache
from api.schemas import (
    BenchmarkPublic,
    ComparisonPublic,
    EstimatePublic,
    LeaderboardEntryPublic,
    LeaderboardPublic,
    MetricPublic,
    Page,
)
from db import queries
from db.leaderboard import LeaderboardEntry, comparisons
from db.models import Submission
from harness.registry import BENCHMARKS, Suite, benchmark_names, transfer_benchmark_names
from harness.result import METRICS, Metric
from settings import Settings

router = APIRouter(prefix="/api")

SuiteQuery = Annotated[
    Suite | None, Query(description="official, proxy or smoke; default: the suite this service runs")
]
MAX_LEADERBOARD_PAGE = 1_000
CSV_DECIMALS = 4
ESTIMATE_FIELDS = ("n", "mean", "sd", "ci_low", "ci_high")
# A spreadsheet runs a cell that starts with one of these as a formula: a submission name could carry one.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


async def get_leaderboard(request: Request, settings: SettingsDep, suite: SuiteQuery = None) -> CachedLeaderboard:
    """The suite's leaderboard from the app's cache, computed again only after its marker moved.

    The first read of a suite (and every read with `leaderboard_refresh_seconds` = 0) computes the board in the
    request, so a database that is busy or down answers it 503 (api/errors.py); later reads are served from memory.
    """
    cache: LeaderboardCache = request.app.state.leaderboard_cache
    return await cache.get(suite or settings.suite, compute_leaderboard(settings))


LeaderboardDep = Annotated[CachedLeaderboard, Depends(get_leaderboard)]


def compute_leaderboard(settings: Settings) -> ComputeBoard:
    """The board of a suite as the API shows it, with the entries its comparisons are computed from."""

    def compute(session: Session, suite: str) -> tuple[LeaderboardPublic, list[LeaderboardEntry]]:
        benchmarks, transfer = benchmark_names(suite), transfer_benchmark_names(suite)
        trials_planned = settings.trials(suite)
        version = harness.HARNESS_VERSION
        entries = queries.leaderboard.leaderboard(session, suite, benchmarks, version, trials_planned, transfer)
        data = [_entry_public(entry) for entry in entries]
        board = LeaderboardPublic(
            suite=suite,
            harness_version=harness.HARNESS_VERSION,
            benchmarks=benchmarks,
            transfer_benchmarks=transfer,
            trials_planned=trials_planned,
            metrics=[_metric_public(metric) for metric in METRICS],
            data=data,
            count=len(data),
        )
        return board, entries

    return compute


def _metric_public(metric: Metric) -> MetricPublic:
    return MetricPublic(name=metric.name, description=metric.description, higher_is_better=metric.higher_is_better)


def _entry_public(entry: LeaderboardEntry) -> LeaderboardEntryPublic:
    shown = entry.submission
    return LeaderboardEntryPublic(
        rank=entry.rank,
        provisional=entry.provisional,
        trials_complete=entry.trials_complete,
        trials_planned=entry.trials_planned,
        submission_id=shown.id,
        name=shown.name,
        kind=shown.kind,
        participant=shown.participant,
        created_at=shown.created_at,
        description=shown.description,
        link=shown.link,
        headline=EstimatePublic.model_validate(entry.headline),
        benchmarks={
            benchmark: {metric: EstimatePublic.model_validate(value) for metric, value in cells.items()}
            for benchmark, cells in entry.benchmarks.items()
        },
        average_rank=entry.average_rank,
        rerunning=shown.rerunning,
        rerun_failed=shown.rerun_failed,
        recorded=shown.recorded,
        transfer=None if entry.transfer is None else EstimatePublic.model_validate(entry.transfer),
        transfer_rank=entry.transfer_rank,
    )


def comparisons_for(
    request: Request, session: Session, settings: Settings, submission: Submission
) -> list[ComparisonPublic]:
    """The submission against the baselines, the published methods and the leader of its suite's board, paired
    over shared trials; the board comes from the app's cache. Called from a worker thread (a sync route)."""
    cache: LeaderboardCache = request.app.state.leaderboard_cache
    cached = cache.get_blocking(submission.suite, compute_leaderboard(settings), session)
    scores = queries.leaderboard.trial_scores(session, submission.suite, [submission.id], harness.HARNESS_VERSION)
    if submission.id not in scores:
        return []
    return [
        ComparisonPublic(
            against_id=found.against.id,
            against_name=found.against.name,
            against_kind=found.against.kind,
            is_leader=found.is_leader,
            scope=found.scope,
            difference=EstimatePublic.model_validate(found.difference),
        )
        for found in comparisons(scores[submission.id], cached.entries, benchmark_names(submission.suite))
    ]


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
    cells = [(benchmark, metric.name) for benchmark in board.benchmarks for metric in board.metrics]
    columns = [f"{benchmark}_{metric}_{field}" for benchmark, metric in cells for field in ESTIMATE_FIELDS]
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(
        [
            "rank",
            "provisional",
            "name",
            "kind",
            "participant",
            *(f"headline_{f}" for f in ESTIMATE_FIELDS),
            "transfer_rank",
            *(f"transfer_{f}" for f in ESTIMATE_FIELDS),
            *columns,
        ]
    )
    for entry in board.data:
        estimates = [entry.headline, *(entry.benchmarks[benchmark].get(metric) for benchmark, metric in cells)]
        headline, *per_benchmark = map(_csv_cells, estimates)
        transfer = ["" if entry.transfer_rank is None else entry.transfer_rank, *_csv_cells(entry.transfer)]
        text = [_inert(entry.name), entry.kind, _inert(entry.participant)]
        writer.writerow(
            [entry.rank, entry.provisional, *text, *headline, *transfer, *itertools.chain.from_iterable(per_benchmark)]
        )
    filename = f"poisonbench-leaderboard-{board.suite}.csv"
    return Response(
        table.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _csv_cells(estimate: EstimatePublic | None) -> list[int | float | str]:
    """n, mean, sd, ci_low, ci_high, rounded; empty where there is no value (no interval below 2 trials)."""
    if estimate is None:
        return [""] * len(ESTIMATE_FIELDS)
    values = [getattr(estimate, name) for name in ESTIMATE_FIELDS]
    return [estimate.n, *("" if value is None else round(value, CSV_DECIMALS) for value in values[1:])]


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
