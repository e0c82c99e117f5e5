"""When each queued or running submission should start and finish: arithmetic over plain rows, no SQL.

db.queries.queue_position reads the rows (the running runs, the queue in its fair order, the durations of runs
trained here, the live workers) and this module works out the times, so tests can check it on tables worked by hand.

The model: every worker takes the next queued run, in the queue's fair order, as soon as it is free (a run's
worker claims the next one when it finishes, queries.runs.claim_next_run), as if nothing else were uploaded. A
running run holds its worker for the epochs it has left at its pace so far; a queued run takes the median duration
of recent runs of its suite and benchmark trained on this deployment. A run with no such duration cannot be timed,
and neither can anything after it.
"""

import heapq
import statistics
from collections import defaultdict, deque
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

RECENT_RUNS_FOR_ESTIMATE = 20  # per suite and benchmark: the median of their durations times one run

Key = tuple[str, str]  # (suite, benchmark)


@dataclass(frozen=True)
class TimedRun:
    """A run that succeeded on this deployment (never a recorded result: those were trained elsewhere)."""

    suite: str
    benchmark: str
    seconds: float


@dataclass(frozen=True)
class RunningRun:
    submission_id: int
    suite: str
    benchmark: str
    started_at: datetime
    epochs_done: int
    epochs_total: int | None  # None until its first epoch is reported


@dataclass(frozen=True)
class QueuedRun:
    """A queued run with its place in the queue's fair order (queries.queue_position.fair_order), whose key is
    `rank`, then `started_in_turn`, then `tie`: the count of runs already started of its turn (its submission's
    runs of one trial and track) grows as they start, so submissions take turns run by run."""

    submission_id: int
    suite: str
    benchmark: str
    turn: Hashable = None  # runs that share rank and started_in_turn; None: a turn of its own
    rank: tuple = ()
    started_in_turn: int = 0
    tie: tuple = ()


@dataclass(frozen=True)
class SubmissionTimes:
    start: datetime | None  # when its first queued run should start; None without one or when it cannot be timed
    finish: datetime | None  # when its last queued or running run should end; None when one cannot be timed


def median_durations(newest_first: Iterable[TimedRun]) -> dict[Key, float]:
    """Seconds per suite and benchmark: the median of its RECENT_RUNS_FOR_ESTIMATE newest runs."""
    recent: dict[Key, list[float]] = defaultdict(list)
    for run in newest_first:
        if len(recent[(run.suite, run.benchmark)]) < RECENT_RUNS_FOR_ESTIMATE:
            recent[(run.suite, run.benchmark)].append(run.seconds)
    return {key: statistics.median(seconds) for key, seconds in recent.items()}


def seconds_left(run: RunningRun, now: datetime, durations: Mapping[Key, float]) -> float | None:
    """The epochs it has left at its pace so far (setup included, spread over the epochs done); before its first
    epoch, the median duration less the time it has had; None when neither is known."""
    elapsed = max((now - run.started_at).total_seconds(), 0.0)
    if run.epochs_done > 0 and run.epochs_total:
        return elapsed / run.epochs_done * max(run.epochs_total - run.epochs_done, 0)
    median = durations.get((run.suite, run.benchmark))
    return None if median is None else max(median - elapsed, 0.0)


def claim_order(queue: Sequence[QueuedRun]) -> list[QueuedRun]:
    """The order the workers will claim `queue` in (given sorted by the fair order now) if nothing else arrives: at
    each claim the fair order again, with one more run started of the turn just claimed."""
    turns: dict[Hashable, deque[tuple[int, QueuedRun]]] = defaultdict(deque)
    for index, run in enumerate(queue):
        turns[("run", index) if run.turn is None else run.turn].append((index, run))
    started = {key: runs[0][1].started_in_turn for key, runs in turns.items()}

    def entry(key: Hashable) -> tuple:
        index, run = turns[key][0]
        return (run.rank, started[key], run.tie, index, key)  # index is unique: key is never compared

    heap = [entry(key) for key in turns]
    heapq.heapify(heap)
    claimed = []
    while heap:
        key = heapq.heappop(heap)[-1]
        claimed.append(turns[key].popleft()[1])
        started[key] += 1
        if turns[key]:
            heapq.heappush(heap, entry(key))
    return claimed


def forecast(
    now: datetime,
    running: Sequence[RunningRun],
    queue: Sequence[QueuedRun],
    durations: Mapping[Key, float],
    workers: int,
) -> dict[int, SubmissionTimes]:
    """Start and finish of every submission with a queued or running run. `queue` is sorted by the fair order now
    (queries.queue_position.fair_order) and claimed in claim_order; `workers` counts the live ones (at least the
    running runs' count)."""
    left = [seconds_left(run, now, durations) for run in running]
    timed = all(seconds is not None for seconds in left)
    free_at = [seconds for seconds in left if seconds is not None]  # per worker: seconds from now until it is free
    free_at += [0.0] * (max(workers, len(running), 1) - len(running))  # idle workers
    heapq.heapify(free_at)
    starts: dict[int, float | None] = {}
    ends: dict[int, float | None] = {}

    def ended(submission_id: int, seconds: float | None) -> None:
        if submission_id in ends and ends[submission_id] is None:
            return
        ends[submission_id] = None if seconds is None else max(seconds, ends.get(submission_id) or 0.0)

    for run, seconds in zip(running, left, strict=True):
        ended(run.submission_id, seconds)
    for run in claim_order(queue):
        duration = durations.get((run.suite, run.benchmark))
        timed = timed and duration is not None
        if not timed:
            starts.setdefault(run.submission_id, None)
            ended(run.submission_id, None)
            continue
        begin = heapq.heappop(free_at)
        heapq.heappush(free_at, begin + duration)
        starts.setdefault(run.submission_id, begin)
        ended(run.submission_id, begin + duration)

    def at(seconds: float | None) -> datetime | None:
        return None if seconds is None else now + timedelta(seconds=seconds)

    return {key: SubmissionTimes(at(starts.get(key)), at(ends[key])) for key in ends}
