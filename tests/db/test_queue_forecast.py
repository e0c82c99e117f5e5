"""When submissions should start and finish (db/queue_forecast.py), on tables worked by hand."""

from datetime import UTC, datetime, timedelta

from db.queue_forecast import (
    RECENT_RUNS_FOR_ESTIMATE,
    QueuedRun,
    RunningRun,
    SubmissionTimes,
    TimedRun,
    claim_order,
    forecast,
    median_durations,
)

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
# Medians: benchmark a 200 s (of 180, 200, 260), b 90 s (of 80, 90, 100).
DURATIONS = median_durations(
    TimedRun("smoke", benchmark, seconds)
    for benchmark, seconds in (("a", 180), ("b", 80), ("a", 260), ("b", 100), ("a", 200), ("b", 90))
)


def _at(seconds: float | None) -> datetime | None:
    return None if seconds is None else NOW + timedelta(seconds=seconds)


def _times(start: float | None, finish: float | None) -> SubmissionTimes:
    return SubmissionTimes(_at(start), _at(finish))


def _queued(*runs: tuple[int, str]) -> list[QueuedRun]:
    return [QueuedRun(submission_id, "smoke", benchmark) for submission_id, benchmark in runs]


def test_each_benchmark_is_timed_at_the_median_of_its_runs_trained_here():
    assert DURATIONS == {("smoke", "a"): 200, ("smoke", "b"): 90}


def test_only_the_newest_runs_of_a_benchmark_time_it():
    newest_first = [TimedRun("smoke", "a", 10)] * RECENT_RUNS_FOR_ESTIMATE + [TimedRun("smoke", "a", 1000)] * 30
    assert median_durations(newest_first) == {("smoke", "a"): 10}


def test_a_run_half_done_holds_its_worker_for_as_long_again_and_two_workers_share_the_queue():
    running = [
        # 2 of 4 epochs in 100 s: 50 s an epoch, 100 s left
        RunningRun(1, "smoke", "a", NOW - timedelta(seconds=100), epochs_done=2, epochs_total=4),
        # no epoch yet after 30 s: the median 90 s less 30 s, 60 s left
        RunningRun(2, "smoke", "b", NOW - timedelta(seconds=30), epochs_done=0, epochs_total=None),
    ]
    queue = _queued((3, "a"), (3, "b"), (4, "a"))
    # workers free at 100 and 60: 3/a takes 60-260, 3/b 100-190, 4/a 190-390
    assert forecast(NOW, running, queue, DURATIONS, workers=2) == {
        1: _times(None, 100),
        2: _times(None, 60),
        3: _times(60, 260),
        4: _times(190, 390),
    }


def test_the_queue_is_divided_among_the_workers():
    queue = _queued((1, "b"), (1, "b"), (2, "b"), (2, "b"))
    assert forecast(NOW, [], queue, DURATIONS, workers=1) == {1: _times(0, 180), 2: _times(180, 360)}
    assert forecast(NOW, [], queue, DURATIONS, workers=2) == {1: _times(0, 90), 2: _times(90, 180)}


def test_more_running_runs_than_known_workers_count_one_worker_each():
    running = [RunningRun(n, "smoke", "b", NOW - timedelta(seconds=45), 1, 2) for n in (1, 2)]  # 45 s left each
    assert forecast(NOW, running, _queued((3, "b")), DURATIONS, workers=1)[3] == _times(45, 135)


def test_a_run_past_its_last_epoch_has_no_time_left():
    running = [RunningRun(1, "smoke", "a", NOW - timedelta(seconds=500), epochs_done=4, epochs_total=4)]
    assert forecast(NOW, running, _queued((2, "b")), DURATIONS, workers=1)[2] == _times(0, 90)


def test_a_benchmark_never_timed_here_leaves_its_submission_and_everyone_after_it_without_an_estimate():
    queue = _queued((1, "a"), (2, "never-run"), (2, "b"), (3, "b"))
    assert forecast(NOW, [], queue, DURATIONS, workers=1) == {
        1: _times(0, 200),
        2: _times(None, None),
        3: _times(None, None),
    }


def test_a_running_run_that_cannot_be_timed_leaves_the_queue_without_an_estimate():
    running = [RunningRun(1, "smoke", "never-run", NOW - timedelta(seconds=5), 0, None)]
    assert forecast(NOW, running, _queued((2, "b")), DURATIONS, workers=2) == {
        1: _times(None, None),
        2: _times(None, None),
    }


def test_a_submission_uploaded_behind_another_s_started_turn_is_claimed_before_the_rest_of_it():
    # fair order now: 1's trial-1 turn has one run started, so 2's (none started) goes first; 1's transfer track last
    queue = [
        QueuedRun(2, "smoke", "a", turn=(2, 1), rank=(0, False, 1), started_in_turn=0, tie=(20,)),
        QueuedRun(2, "smoke", "b", turn=(2, 1), rank=(0, False, 1), started_in_turn=0, tie=(21,)),
        QueuedRun(1, "smoke", "b", turn=(1, 1), rank=(0, False, 1), started_in_turn=1, tie=(11,)),
        QueuedRun(1, "smoke", "a-hidden", turn=(1, "t"), rank=(0, True, 1), started_in_turn=0, tie=(12,)),
    ]
    # once 2 has started a run the two turns are level again, and the earlier upload goes first: they alternate
    order = [(run.submission_id, run.benchmark) for run in claim_order(queue)]
    assert order == [(2, "a"), (1, "b"), (2, "b"), (1, "a-hidden")]
    running = [RunningRun(1, "smoke", "a", NOW - timedelta(seconds=100), epochs_done=1, epochs_total=2)]  # 100 s left
    assert forecast(NOW, running, queue, DURATIONS | {("smoke", "a-hidden"): 200}, workers=1) == {
        1: _times(300, 680),  # b at 300-390, its transfer run at 480-680
        2: _times(100, 480),  # a at 100-300, b at 390-480
    }
