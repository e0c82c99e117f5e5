"""Reruns replace, never remove: a succeeded submission's results stay on the board until the rerun has wholly
succeeded, then are replaced in one step; a failed rerun leaves them and says so."""

import pytest

from db import queries
from db.models import FailureCause, Run, RunStatus, SubmissionKind, SubmissionStatus
from harness.registry import Suite, benchmark_names, transfer_benchmark_names
from tests.conftest import Factory

BENCHMARKS = benchmark_names(Suite.SMOKE)
TRIALS = 2


def _entry(session, submission_id: int):
    board = Factory(session).board(TRIALS)
    return next((entry for entry in board if entry.submission.id == submission_id), None)


def _complete_one(factory, run: Run, score: float) -> None:
    claimed = queries.runs.claim_run(factory.session, run.id, "worker")
    queries.runs.complete_run(factory.session, run.id, claimed.attempt, factory.result(score), "")


def test_a_rerun_keeps_the_old_results_on_the_board_until_every_new_run_succeeded_then_replaces_them_at_once(
    any_factory,
):
    session = any_factory.session
    baseline = any_factory.submission(kind=SubmissionKind.BASELINE, trials=TRIALS)
    any_factory.finish(baseline, robust_score=0.6)
    old_ids = {run.id for run in baseline.runs}
    new_ids = queries.submissions.rerun_submission(session, baseline, any_factory.plan(TRIALS))
    assert len(new_ids) == len(BENCHMARKS) * TRIALS and baseline.status is SubmissionStatus.SUCCEEDED
    for index, run in enumerate(baseline.replacement_runs):
        entry = _entry(session, baseline.id)  # on the board at every moment, with the old results
        assert entry is not None and entry.submission.rerunning and not entry.submission.rerun_failed
        assert entry.headline.mean == pytest.approx(0.6) and entry.trials_complete == TRIALS, index
        _complete_one(any_factory, run, 0.7)
    entry = _entry(session, baseline.id)
    assert entry.headline.mean == pytest.approx(0.7) and not entry.submission.rerunning
    session.expire(baseline)
    assert {run.id for run in baseline.runs} == set(new_ids) and baseline.replacement_runs == []
    history = session.query(Run).filter(Run.id.in_(old_ids)).all()
    assert all(run.superseded_at is not None and run.metrics["robust_score"] == 0.6 for run in history)


def test_a_failed_rerun_leaves_the_old_results_in_place_and_says_so(any_factory):
    session = any_factory.session
    baseline = any_factory.submission(kind=SubmissionKind.BASELINE, trials=TRIALS)
    any_factory.finish(baseline, robust_score=0.6)
    queries.submissions.rerun_submission(session, baseline, any_factory.plan(TRIALS))
    first, second, *others = baseline.replacement_runs
    _complete_one(any_factory, first, 0.9)
    claimed = queries.runs.claim_run(session, second.id, "worker")
    queries.runs.fail_run(session, second.id, claimed.attempt, "out of memory", FailureCause.INFRASTRUCTURE, "", "x")
    session.expire(baseline)
    assert baseline.status is SubmissionStatus.SUCCEEDED and baseline.replacement_runs == []
    assert "out of memory" in baseline.rerun_error and second.benchmark in baseline.rerun_error
    for run in others:  # the rest of the rerun stops: no GPU time for results that cannot replace anything
        session.refresh(run)
        assert run.status is RunStatus.CANCELLED and run.superseded_at is not None
    entry = _entry(session, baseline.id)
    assert entry.headline.mean == pytest.approx(0.6) and entry.submission.rerun_failed
    assert not entry.submission.rerunning
    queries.submissions.rerun_submission(session, baseline, any_factory.plan(TRIALS))  # tried again
    session.expire(baseline)
    assert baseline.rerun_error is None and _entry(session, baseline.id).submission.rerunning


def test_a_second_rerun_replaces_the_one_under_way(any_factory):
    session = any_factory.session
    baseline = any_factory.submission(kind=SubmissionKind.BASELINE, trials=TRIALS)
    any_factory.finish(baseline, robust_score=0.6)
    first_rerun = queries.submissions.rerun_submission(session, baseline, any_factory.plan(TRIALS))
    second_rerun = queries.submissions.rerun_submission(session, baseline, any_factory.plan(TRIALS))
    assert [run.id for run in baseline.replacement_runs] == second_rerun
    assert all(session.get(Run, run_id).status is RunStatus.CANCELLED for run_id in first_rerun)
    assert baseline.rerun_error is None


def test_a_whole_rerun_gives_a_submission_stored_before_the_transfer_track_its_transfer_runs(any_factory):
    session = any_factory.session
    baseline = any_factory.submission(kind=SubmissionKind.BASELINE, trials=TRIALS)  # no transfer run
    any_factory.finish(baseline, robust_score=0.6)
    transfer = transfer_benchmark_names(Suite.SMOKE)
    queries.submissions.rerun_submission(session, baseline, any_factory.plan(TRIALS, transfer=True))
    queued = {(run.benchmark, run.trial, run.transfer) for run in baseline.replacement_runs}
    announced = {(benchmark, trial, False) for benchmark in BENCHMARKS for trial in range(1, TRIALS + 1)}
    hidden = {(benchmark, trial, True) for benchmark in transfer for trial in range(1, TRIALS + 1)}
    assert queued == announced | hidden
    assert _entry(session, baseline.id).transfer is None
    any_factory.finish(baseline, robust_score=0.7)
    entry = _entry(session, baseline.id)
    assert entry.transfer is not None and entry.transfer.mean == pytest.approx(0.7)


def test_a_whole_rerun_of_a_submission_with_transfer_runs_queues_each_once(any_factory):
    session = any_factory.session
    baseline = any_factory.submission(kind=SubmissionKind.BASELINE, trials=TRIALS, transfer=True)
    any_factory.finish(baseline, robust_score=0.6)
    transfer = transfer_benchmark_names(Suite.SMOKE)
    new_ids = queries.submissions.rerun_submission(session, baseline, any_factory.plan(TRIALS, transfer=True))
    assert len(new_ids) == (len(BENCHMARKS) + len(transfer)) * TRIALS


def test_a_rerun_under_a_plan_of_more_trials_claims_that_many_and_queues_each(any_factory):
    submission = any_factory.submission(trials=TRIALS)
    any_factory.finish(submission)
    assert submission.trials_planned == TRIALS
    queries.submissions.rerun_submission(any_factory.session, submission, Factory.plan(TRIALS + 1))
    any_factory.session.refresh(submission)
    assert submission.trials_planned == TRIALS + 1  # not read from the settings of the day it was queued
    queued = [run for run in submission.replacement_runs if run.status is RunStatus.QUEUED]
    assert sorted({run.trial for run in queued}) == [1, 2, 3]
