"""The leaderboard: complete, visible submissions of the current harness version, ranked, baselines marked."""

import harness
from db import queries
from db.leaderboard import LeaderboardEntry, _ranks
from db.models import SubmissionKind
from harness.registry import Suite, benchmark_names

BENCHMARKS = benchmark_names(Suite.SMOKE)


def _board(session) -> list:
    return queries.leaderboard.leaderboard(session, Suite.SMOKE, BENCHMARKS, harness.HARNESS_VERSION)


def test_complete_submissions_are_ranked_by_mean_robust_score_beside_the_baselines(any_factory):
    baseline = any_factory.submission(kind=SubmissionKind.BASELINE)
    better = any_factory.submission()
    any_factory.finish(baseline, robust_score=0.6)
    any_factory.finish(better, robust_score=0.9)
    board = _board(any_factory.session)
    assert [(e.submission.id, e.rank) for e in board] == [(better.id, 1), (baseline.id, 2)]
    assert board[1].submission.kind is SubmissionKind.BASELINE
    assert board[0].mean_robust_score == 0.9 and board[0].average_rank == 1.0
    assert board[0].benchmarks[BENCHMARKS[0]]["test_acc"] == 0.9


def test_incomplete_hidden_and_other_suites_submissions_are_left_out(factory, session):
    factory.submission()  # queued
    hidden = factory.submission()
    factory.finish(hidden)
    queries.submissions.set_hidden(session, hidden, True)
    proxy = factory.submission(suite=Suite.PROXY)
    factory.finish(proxy)
    assert _board(session) == []


def test_results_of_another_harness_version_stay_as_history_only(factory, session):
    old = factory.submission()
    factory.finish(old, harness_version="0.9.0")
    assert _board(session) == []
    queries.submissions.rerun_submission(session, old, factory.trials())
    factory.finish(old)
    assert [entry.submission.id for entry in _board(session)] == [old.id]


def test_trials_are_averaged_per_benchmark(factory, session):
    submission = factory.submission(trials=2)
    first, second = (run for run in submission.runs if run.benchmark == BENCHMARKS[0])  # its two trials
    for run, score in ((first, 0.6), (second, 0.8)):
        claimed = queries.runs.claim_run(session, run.id, "worker")
        queries.runs.complete_run(session, run.id, claimed.attempt, factory.result(score), "")
    factory.finish(submission, robust_score=0.7)
    (entry,) = _board(session)
    assert entry.benchmarks[BENCHMARKS[0]]["robust_score"] == 0.7


def test_tied_scores_share_the_mean_of_the_ranks_they_span(factory):
    entries = [LeaderboardEntry(factory.submission(), "p", {"b": {"robust_score": score}}) for score in (0.5, 0.9, 0.5)]
    ranks = _ranks(entries, "b")
    assert [ranks[e.submission.id] for e in entries] == [2.5, 1.0, 2.5]


def test_the_marker_moves_when_a_submission_goes_on_or_off_the_leaderboard_and_only_then(any_factory):
    session = any_factory.session
    marker = lambda: queries.leaderboard.leaderboard_marker(session, Suite.SMOKE)  # noqa: E731
    submission = any_factory.submission()
    queued = marker()
    claimed = queries.runs.claim_run(session, submission.runs[0].id, "worker")
    assert marker() == queued  # queued -> running: still off the leaderboard
    queries.runs.complete_run(session, claimed.run_id, claimed.attempt, any_factory.result(), "")
    assert marker() == queued  # one run of three: still off the leaderboard
    any_factory.finish(submission)
    on_board = marker()
    assert on_board > queued
    queries.submissions.set_hidden(session, submission, True)
    hidden = marker()
    assert hidden > on_board
    queries.submissions.set_hidden(session, submission, False)
    assert marker() > hidden
    shown = marker()
    queries.submissions.rerun_submission(
        session, submission, any_factory.trials()
    )  # succeeded -> queued: off the leaderboard
    assert marker() > shown
    assert queries.leaderboard.leaderboard_marker(session, Suite.PROXY) == 0
