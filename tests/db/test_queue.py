"""The fair queue: which queued run a worker's claim takes, and the position, start and finish a submission is shown."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from db import queries
from db.models import Run, SubmissionKind, utcnow
from db.session import session_factory
from harness.registry import Suite, benchmark_names, transfer_benchmark_names

BENCHMARKS = len(benchmark_names(Suite.SMOKE))


def _claims(session, count: int) -> list[tuple[int, int]]:
    """(submission id, trial) of the next `count` runs a worker claims."""
    claimed = [queries.runs.claim_next_run(session, "worker") for _ in range(count)]
    return [(run.submission_id, run.trial) for run in claimed]


def test_a_submission_queued_behind_15_baseline_runs_starts_right_after_the_run_the_worker_holds(any_factory):
    session = any_factory.session
    baselines = [any_factory.submission(kind=SubmissionKind.BASELINE) for _ in range(15 // BENCHMARKS)]
    assert sum(len(b.runs) for b in baselines) == 15
    held = queries.runs.claim_next_run(session, "worker")  # the one worker is busy with a baseline run
    assert held.submission_id in {baseline.id for baseline in baselines}
    mine = any_factory.submission(trials=2)
    # its whole trial 1 goes next; then the baselines' trial 1 before its trial 2
    assert _claims(session, BENCHMARKS) == [(mine.id, 1)] * BENCHMARKS
    baseline_ids = {baseline.id for baseline in baselines}
    assert all(sid in baseline_ids and trial == 1 for sid, trial in _claims(session, 15 - 1))
    assert _claims(session, BENCHMARKS) == [(mine.id, 2)] * BENCHMARKS
    assert queries.runs.claim_next_run(session, "worker") is None  # the queue is empty


def test_submissions_take_turns_run_by_run_and_everyone_s_trial_1_comes_before_anyone_s_trial_2(any_factory):
    session = any_factory.session
    first, second = any_factory.submission(trials=2), any_factory.submission(trials=2)
    order = _claims(session, 4 * BENCHMARKS)
    assert order[: 2 * BENCHMARKS] == [(first.id, 1), (second.id, 1)] * BENCHMARKS
    assert order[2 * BENCHMARKS :] == [(first.id, 2), (second.id, 2)] * BENCHMARKS


def test_the_transfer_track_starts_only_once_no_announced_flip_run_of_anyone_is_queued(any_factory):
    session = any_factory.session
    early = any_factory.submission(trials=2, transfer=True)
    late = any_factory.submission(trials=2)  # uploaded after: its every trial still goes before early's transfer
    claimed = [queries.runs.claim_next_run(session, "worker") for _ in range(6 * BENCHMARKS)]
    benchmarks = [session.get(Run, run.run_id) for run in claimed]
    assert [run.transfer for run in benchmarks] == [False] * 4 * BENCHMARKS + [True] * 2 * BENCHMARKS
    assert {run.submission_id for run in benchmarks[: 4 * BENCHMARKS]} == {early.id, late.id}
    transfer = [(run.benchmark, run.trial) for run in benchmarks[4 * BENCHMARKS :]]
    assert transfer == [(b, trial) for trial in (1, 2) for b in transfer_benchmark_names(Suite.SMOKE)]
    assert queries.runs.claim_next_run(session, "worker") is None


def test_a_submission_is_shown_the_position_the_claims_follow_and_a_start_from_the_median_run(any_factory):
    session = any_factory.session
    timed = any_factory.submission()
    any_factory.finish(timed)
    began = utcnow() - timedelta(seconds=100)
    session.execute(update(Run).where(Run.submission_id == timed.id).values(started_at=began, finished_at=utcnow()))
    baseline = any_factory.submission(kind=SubmissionKind.BASELINE)
    mine = any_factory.submission()
    for submission, ahead in ((mine, 0), (baseline, BENCHMARKS)):
        estimate = queries.queue_position.queue_estimate(session, submission)
        assert estimate.position == ahead + 1 and estimate.runs_ahead == ahead
        # each run ahead at the median of its benchmark's recent runs (100 s), one worker
        expected = utcnow() + timedelta(seconds=100 * ahead)
        assert abs((estimate.estimated_start - expected).total_seconds()) < 30
    assert _claims(session, 1) == [(mine.id, 1)]  # the claim follows the position shown
    session.expire(mine)
    running = queries.queue_position.queue_estimate(session, mine)
    assert running.position is None and running.estimated_start is None  # no longer waiting to start
    assert running.estimated_finish is not None
    assert queries.queue_position.queue_estimate(session, timed) is None  # nothing of it waits or runs


def _timed(factory, seconds: float, recorded: bool = False, worker: str = "worker") -> None:
    """A submission whose every run succeeded here in `seconds` (a recorded result: started_at == finished_at)."""
    submission = factory.submission()
    factory.finish(submission)
    began = utcnow() - timedelta(seconds=0 if recorded else seconds)
    factory.session.execute(
        update(Run)
        .where(Run.submission_id == submission.id)
        .values(started_at=began, finished_at=utcnow(), recorded=recorded, worker=worker)
    )


def test_recorded_results_never_time_a_run_and_without_a_run_trained_here_there_is_no_estimate(any_factory):
    session = any_factory.session
    _timed(any_factory, 0, recorded=True)
    ahead, mine = any_factory.submission(), any_factory.submission()
    estimate = queries.queue_position.queue_estimate(session, mine)
    assert estimate.position == 2 and estimate.estimated_start is estimate.estimated_finish is None
    _timed(any_factory, 100)
    _timed(any_factory, 0, recorded=True)  # would halve the median if it counted
    estimate = queries.queue_position.queue_estimate(session, mine)
    # one worker, the two taking turns at 100 s a run: it starts after ahead's first run and ends last
    expected_start = utcnow() + timedelta(seconds=100)
    assert abs((estimate.estimated_start - expected_start).total_seconds()) < 30
    expected_finish = utcnow() + timedelta(seconds=100 * 2 * BENCHMARKS)
    assert abs((estimate.estimated_finish - expected_finish).total_seconds()) < 30
    assert queries.queue_position.queue_estimate(session, ahead).estimated_start is not None


def test_the_queue_is_shared_by_the_workers_seen_training_or_just_done(any_factory):
    session = any_factory.session
    _timed(any_factory, 100, worker="gpu-1")
    _timed(any_factory, 100, worker="gpu-2")
    assert queries.queue_position.live_workers(session) == 2  # both finished a run within minutes
    ahead, mine = any_factory.submission(), any_factory.submission()
    estimate = queries.queue_position.queue_estimate(session, mine)
    # taking turns two at a time, 100 s a run: it starts now beside ahead's first run and ends with ahead's last
    assert estimate.position == 2 and abs((estimate.estimated_start - utcnow()).total_seconds()) < 30
    expected_finish = utcnow() + timedelta(seconds=100 * BENCHMARKS)  # one worker: twice that
    assert abs((estimate.estimated_finish - expected_finish).total_seconds()) < 30
    assert queries.queue_position.queue_estimate(session, ahead).position == 1


@pytest.mark.usefixtures("redis_client")
def test_two_workers_claiming_at_once_take_different_runs_without_waiting_on_each_other(
    committed_postgres_url, factory_for
):
    sessions = session_factory(committed_postgres_url)
    with sessions.begin() as setup:
        factory = factory_for(setup)
        first, second = factory.submission(), factory.submission()
        submission_ids = {first.id, second.id}
    with sessions() as worker_a, sessions() as worker_b:
        claimed_a = queries.runs.claim_next_run(worker_a, "a")  # not committed: its rows stay locked
        claimed_b = queries.runs.claim_next_run(worker_b, "b")  # skips them instead of waiting
        assert claimed_a.run_id != claimed_b.run_id
        assert {claimed_a.submission_id, claimed_b.submission_id} == submission_ids
        worker_a.commit()
        worker_b.commit()


def test_the_position_shown_follows_the_claims_as_submissions_take_turns(any_factory):
    session = any_factory.session
    first, second = any_factory.submission(), any_factory.submission()
    # in the fair order now all of first's runs come before second's, but once one of first's has started the
    # second's turn comes: second's first run is the 2nd claimed
    assert queries.queue_position.queue_estimate(session, second).position == 2
    assert _claims(session, 2) == [(first.id, 1), (second.id, 1)]
