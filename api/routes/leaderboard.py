"""/api/leaderboard and /api/benchmarks: public, no token needed."""

from typing import Annotated

from fastapi import APIRouter, Query

import harness
from api.deps import SessionDep, SettingsDep
from api.schemas import BenchmarkPublic, LeaderboardEntryPublic, LeaderboardPublic, Page
from db import queries
from harness.registry import BENCHMARKS, Suite, benchmark_names

router = APIRouter(prefix="/api", tags=["leaderboard"])

SuiteQuery = Annotated[
    Suite | None, Query(description="official, proxy or smoke; default: the suite this service runs")
]


@router.get("/leaderboard", response_model=LeaderboardPublic)
def read_leaderboard(
    session: SessionDep, settings: SettingsDep, suite: SuiteQuery = None
) -> LeaderboardPublic:
    """Complete submissions of the current harness version, best mean robust_score first, baselines marked."""
    suite = suite or settings.suite
    benchmarks = benchmark_names(suite)
    entries = queries.leaderboard(session, suite, benchmarks, harness.HARNESS_VERSION)
    data = [
        LeaderboardEntryPublic(
            rank=entry.rank,
            submission_id=entry.submission.id,
            name=entry.submission.name,
            participant=entry.participant,
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


@router.get("/benchmarks", response_model=Page[BenchmarkPublic])
def list_benchmarks(
    suite: Annotated[Suite | None, Query(description="only this suite")] = None,
) -> Page[BenchmarkPublic]:
    """The registry: every benchmark of every suite (or of one)."""
    data = [
        BenchmarkPublic.model_validate(b) for b in BENCHMARKS.values() if suite is None or b.suite == suite
    ]
    return Page(data=data, count=len(data))
