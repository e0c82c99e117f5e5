"""The leaderboard as the API shows it: a suite's board ranked from the database's rows, and every paired comparison
read from it (a submission against the baselines and the leader, entries side by side)."""

from fastapi import Request
from sqlalchemy.orm import Session

import harness
from api.leaderboard_cache import CachedLeaderboard, ComputeBoard, LeaderboardCache
from api.schemas import (
    MAX_DB_INTEGER,
    ComparisonPublic,
    EstimatePublic,
    LeaderboardEntryPublic,
    LeaderboardPublic,
    MetricPublic,
    PairedDifferencePublic,
)
from db import queries
from db.models import Submission
from harness.registry import FLIP_DESIGN
from harness.result import METRICS, Metric
from scoring.leaderboard import (
    LeaderboardEntry,
    board_leader,
    comparisons,
    group_by_submission,
    rank_entries,
    scope_differences,
)
from scoring.plan import suite_plan
from settings import Settings

CLAIMS = {1: "better", -1: "worse", 0: None}  # scoring's claim sign as the API names it
MIN_COMPARED, MAX_COMPARED = 2, 4  # two is a comparison; past four the side-by-side table no longer fits a screen


def compute_leaderboard(settings: Settings) -> ComputeBoard:
    """The board of a suite as the API shows it, with the entries its comparisons are computed from."""

    def compute(session: Session, suite: str) -> tuple[LeaderboardPublic, list[LeaderboardEntry]]:
        plan = suite_plan(settings, suite)
        scores = group_by_submission(queries.leaderboard.board_rows(session, suite, harness.HARNESS_VERSION))
        entries = rank_entries(scores, plan)
        data = [_entry_public(entry) for entry in entries]
        board = LeaderboardPublic(
            suite=suite,
            harness_version=harness.HARNESS_VERSION,
            benchmarks=list(plan.benchmarks),
            transfer_benchmarks=list(plan.transfer_benchmarks),
            flip_design=FLIP_DESIGN,
            trials_planned=len(plan.trials),
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
        rank_best=None if entry.rank is None else entry.rank.best,
        rank_worst=None if entry.rank is None else entry.rank.worst,
        provisional=entry.provisional,
        legacy=entry.legacy,
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
        transfer_provisional=entry.transfer_provisional,
        transfer_rank_best=None if entry.transfer_rank is None else entry.transfer_rank.best,
        transfer_rank_worst=None if entry.transfer_rank is None else entry.transfer_rank.worst,
        transfer_flip_design=entry.transfer_flip_design,
    )


def comparisons_for(
    request: Request, session: Session, settings: Settings, submission: Submission
) -> tuple[list[ComparisonPublic], bool]:
    """The submission against the baselines, the published methods and the leader of its suite's board, paired
    over shared trials, and whether it leads the board itself; the board comes from the app's cache. Called from a
    worker thread (a sync route)."""
    cache: LeaderboardCache = request.app.state.leaderboard_cache
    cached = cache.get_blocking(submission.suite, compute_leaderboard(settings), session)
    leader = board_leader(cached.entries)
    leads = leader is not None and leader.submission.id == submission.id
    rows = queries.leaderboard.submission_rows(session, submission.suite, [submission.id], harness.HARNESS_VERSION)
    scores = group_by_submission(rows)
    if submission.id not in scores:
        return [], leads
    return [
        ComparisonPublic(
            against_id=found.against.id,
            against_name=found.against.name,
            against_kind=found.against.kind,
            is_leader=found.is_leader,
            scope=found.scope,
            difference=EstimatePublic.model_validate(found.difference),
            claim=CLAIMS[found.claim],
            paired=found.paired,
        )
        for found in comparisons(scores[submission.id], cached.entries, suite_plan(settings, submission.suite))
    ], leads


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


def differences_between(
    leaderboard: CachedLeaderboard, wanted: list[int], settings: Settings
) -> list[PairedDifferencePublic]:
    """Every pair of `wanted` (a before b), a - b over the trials they share, from the board's own per-trial scores;
    better or worse by Holm over each track's differences of all the pairs (scoring.leaderboard.scope_differences)."""
    plan = suite_plan(settings, leaderboard.board.suite)
    scores = {entry.submission.id: entry.scores for entry in leaderboard.entries}
    pairs = [(a, b) for index, a in enumerate(wanted) for b in wanted[index + 1 :]]
    differences = scope_differences([(scores[a], scores[b]) for a, b in pairs], plan)
    return [
        PairedDifferencePublic(
            a_id=a,
            b_id=b,
            scope=found.scope,
            difference=EstimatePublic.model_validate(found.difference),
            claim=CLAIMS[found.claim],
            paired=found.paired,
        )
        for (a, b), found_all in zip(pairs, differences, strict=True)
        for found in found_all
    ]
