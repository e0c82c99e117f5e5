"""The leaderboard's arithmetic: per-benchmark metrics, the suite's mean robust_score and the average rank."""

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import fmean

from db.models import SubmissionKind
from db.statistics import average_ranks, tied_ranks
from harness.result import METRIC_NAMES


@dataclass(frozen=True)
class ShownSubmission:
    """The columns of a submission the leaderboard shows: its code and other columns are never loaded."""

    id: int
    name: str
    kind: SubmissionKind
    created_at: datetime
    link: str | None  # its paper or code


@dataclass(frozen=True)
class MetricRow:
    """One succeeded run's metrics, as the leaderboard query returns it."""

    submission: ShownSubmission
    participant: str
    benchmark: str
    metrics: dict[str, float]


@dataclass
class LeaderboardEntry:
    submission: ShownSubmission
    participant: str
    benchmarks: dict[str, dict[str, float]]  # benchmark -> metric -> mean over seeds
    mean_robust_score: float = 0.0  # the suite's headline score
    average_rank: float = 0.0  # mean over benchmarks of the rank by robust_score, ties sharing the mean rank
    rank: int = 0  # by mean_robust_score, then average_rank


def rank_entries(rows: Sequence[MetricRow], benchmarks: Sequence[str]) -> list[LeaderboardEntry]:
    """Entries for the submissions with a result on every benchmark, best first."""
    entries = [entry for entry in _entries(rows) if set(benchmarks) <= entry.benchmarks.keys()]
    for entry in entries:
        entry.mean_robust_score = fmean(entry.benchmarks[b]["robust_score"] for b in benchmarks)
    scores = {e.submission.id: {b: e.benchmarks[b]["robust_score"] for b in benchmarks} for e in entries}
    average = average_ranks(scores, benchmarks)
    for entry in entries:
        entry.average_rank = average[entry.submission.id]
    entries.sort(key=lambda e: (-e.mean_robust_score, e.average_rank, e.submission.id))
    for position, entry in enumerate(entries, start=1):
        entry.rank = position
    return entries


def _entries(rows: Sequence[MetricRow]) -> list[LeaderboardEntry]:
    """One entry per submission, each benchmark's metrics averaged over its seeds."""
    runs: dict[int, dict[str, list[dict[str, float]]]] = defaultdict(lambda: defaultdict(list))
    first: dict[int, MetricRow] = {}
    for row in rows:
        runs[row.submission.id][row.benchmark].append(row.metrics)
        first.setdefault(row.submission.id, row)
    return [
        LeaderboardEntry(
            submission=first[submission_id].submission,
            participant=first[submission_id].participant,
            benchmarks={b: _mean_metrics(results) for b, results in by_benchmark.items()},
        )
        for submission_id, by_benchmark in runs.items()
    ]


def _mean_metrics(results: list[dict[str, float]]) -> dict[str, float]:
    # fsum over len, not statistics.fmean: as exact, and fmean's argument handling was half the leaderboard's
    # time (15,000 calls for 1,000 submissions; docs/reliability.md, "Load").
    count = len(results)
    return {
        name: math.fsum([result[name] for result in results]) / count for name in METRIC_NAMES if name in results[0]
    }


def _ranks(entries: Sequence[LeaderboardEntry], benchmark: str) -> dict[int, float]:
    """Rank 1 for the best robust_score on `benchmark`; tied entries share the mean of the ranks they span.

    rank_entries ranks through db/statistics.average_ranks; this view of one benchmark stays while
    tests/db/test_leaderboard.py checks the tie rule through it.
    """
    return tied_ranks({entry.submission.id: entry.benchmarks[benchmark]["robust_score"] for entry in entries})
