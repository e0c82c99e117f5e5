"""The leaderboard over trials: estimates per cell and headline, ranks that respect noise, provisional entries,
legacy runs, the paired comparisons, and the marker that says when it changed."""

import pytest
from sqlalchemy import update

import harness
from db import queries
from db.models import Run, SubmissionKind
from harness.registry import FLIP_DESIGN, Suite, benchmark_names
from scoring.leaderboard import HEADLINE, TRANSFER, comparisons, group_by_submission, scope_differences
from tests.conftest import Factory

BENCHMARKS = benchmark_names(Suite.SMOKE)
TRIALS = 3


def _board(session) -> list:
    return Factory(session).board(TRIALS)


def _entry(factory, scores: dict[int, float], kind: SubmissionKind = SubmissionKind.SUBMISSION):
    submission = factory.submission(kind=kind, trials=TRIALS)
    factory.finish(submission, robust_score=scores)
    return submission


def test_every_cell_and_the_headline_carry_n_mean_sd_and_a_95_percent_interval(any_factory):
    submission = _entry(any_factory, {1: 0.7, 2: 0.8, 3: 0.9})
    (entry,) = _board(any_factory.session)
    assert entry.submission.id == submission.id and entry.trials_complete == 3 and not entry.provisional
    # mean 0.8, sd 0.1, t_{0.975, 2} = 4.3027: half-width 4.3027 * 0.1 / sqrt(3) = 0.24841
    assert entry.headline.n == 3 and entry.headline.mean == pytest.approx(0.8)
    assert entry.headline.sd == pytest.approx(0.1) and entry.headline.half_width == pytest.approx(0.24841, abs=1e-5)
    for benchmark in BENCHMARKS:
        cell = entry.benchmarks[benchmark]
        assert set(cell) == {"test_acc", "poison_fit", "poison_fit_noaug", "clean_fit", "robust_score"}
        assert cell["robust_score"].n == 3 and cell["poison_fit"].mean == pytest.approx(0.2)
        assert cell["clean_fit"].sd == 0 and cell["clean_fit"].ci_low == cell["clean_fit"].ci_high == 1.0


def _places(entry) -> tuple[int, int] | None:
    return None if entry.rank is None else (entry.rank.best, entry.rank.worst)


def test_a_clear_winner_ranks_first_and_entries_it_beats_are_ranked_below_it(any_factory):
    # Every paired difference is 0.10 +- 0.01 over the trials: each entry holds exactly one place
    winner = _entry(any_factory, {1: 0.90, 2: 0.92, 3: 0.91})
    middle = _entry(any_factory, {1: 0.80, 2: 0.83, 3: 0.81}, SubmissionKind.BASELINE)
    last = _entry(any_factory, {1: 0.70, 2: 0.72, 3: 0.71})
    board = _board(any_factory.session)
    assert [(e.submission.id, _places(e)) for e in board] == [
        (winner.id, (1, 1)),
        (middle.id, (2, 2)),
        (last.id, (3, 3)),
    ]
    assert board[1].submission.kind is SubmissionKind.BASELINE and board[0].average_rank == 1.0


def test_entries_that_cannot_be_told_apart_could_each_hold_either_place_and_are_listed_by_mean(any_factory):
    # a - b is -0.05, +0.10, -0.04 over the trials: its interval spans 0 either way, so neither claim is made
    a = _entry(any_factory, {1: 0.80, 2: 0.90, 3: 0.71})
    b = _entry(any_factory, {1: 0.85, 2: 0.80, 3: 0.75})
    board = _board(any_factory.session)
    assert [(e.submission.id, _places(e)) for e in board] == [(a.id, (1, 2)), (b.id, (1, 2))]  # 0.8033 > 0.8


def test_a_noisy_entry_is_not_listed_above_a_better_mean_precise_one(any_factory):
    # The recorded proxy board's case: the noisy entry beats nobody and nobody beats it, which used to make it
    # rank 1 above the precise entry with the better mean; now both could be first, listed by mean.
    precise = _entry(any_factory, {1: 0.87, 2: 0.88, 3: 0.86}, SubmissionKind.BASELINE)
    low = _entry(any_factory, {1: 0.80, 2: 0.81, 3: 0.79})
    noisy = _entry(any_factory, {1: 0.98, 2: 0.70, 3: 0.85})  # mean 0.8433 < 0.87
    board = _board(any_factory.session)
    assert [(e.submission.id, _places(e)) for e in board] == [
        (precise.id, (1, 2)),
        (noisy.id, (1, 3)),
        (low.id, (2, 3)),
    ]


def test_an_entry_with_fewer_trials_than_planned_is_provisional_shown_with_its_n_and_claims_nothing(any_factory):
    strong = _entry(any_factory, {1: 0.90, 2: 0.91, 3: 0.92})
    weak = any_factory.submission(trials=TRIALS)
    any_factory.finish(weak, robust_score={1: 0.10})  # trial 1 only
    session = any_factory.session
    # a second trial on one benchmark only: not a complete trial
    run = next(r for r in weak.runs if r.trial == 2)
    claimed = queries.runs.claim_run(session, run.id, "worker")
    queries.runs.complete_run(session, run.id, claimed.attempt, any_factory.result(0.1), "")
    board = _board(session)
    by_id = {entry.submission.id: entry for entry in board}
    assert by_id[weak.id].provisional and by_id[weak.id].trials_complete == 1 and by_id[weak.id].headline.n == 1
    assert by_id[weak.id].headline.sd is None and by_id[weak.id].headline.ci_low is None
    assert by_id[weak.id].rank is None  # no rank, listed after the ranked entries
    assert not by_id[strong.id].provisional and [e.submission.id for e in board] == [strong.id, weak.id]
    any_factory.finish(weak, robust_score={2: 0.1, 3: 0.1})  # its last trials land: final, and beaten
    by_id = {entry.submission.id: entry for entry in _board(session)}
    assert not by_id[weak.id].provisional and _places(by_id[weak.id]) == (2, 2)


def test_a_provisional_entry_with_the_best_mean_is_listed_after_the_ranked_ones_and_is_never_the_leader(
    any_factory,
):
    ranked = _entry(any_factory, {1: 0.60, 2: 0.61, 3: 0.62}, SubmissionKind.BASELINE)
    early = any_factory.submission(trials=TRIALS)
    any_factory.finish(early, robust_score={1: 0.99})
    mine = _entry(any_factory, {1: 0.50, 2: 0.52, 3: 0.51})
    board = _board(any_factory.session)
    assert [e.submission.id for e in board] == [ranked.id, mine.id, early.id]
    assert board[2].provisional and board[2].rank is None
    rows = queries.leaderboard.submission_rows(any_factory.session, Suite.SMOKE, [mine.id], harness.HARNESS_VERSION)
    leader = {
        c.against.id
        for c in comparisons(group_by_submission(rows)[mine.id], board, Factory.plan(TRIALS))
        if c.is_leader
    }
    assert leader == {ranked.id}


def _with_transfer(factory, announced: dict[int, float], transfer: dict[int, float]):
    """An entry trained on both tracks: its announced-flip runs score `announced`, its transfer runs `transfer`."""
    submission = factory.submission(trials=TRIALS, transfer=True)
    for run in submission.runs:
        claimed = queries.runs.claim_run(factory.session, run.id, "worker")
        score = (transfer if run.transfer else announced)[run.trial]
        queries.runs.complete_run(factory.session, run.id, claimed.attempt, factory.result(score), "")
    return submission


def test_the_transfer_score_and_rank_stand_beside_the_headline_and_leave_it_and_its_rank_alone(any_factory):
    # robust on the announced flip alone: the best headline, the worst transfer
    exploiter = _with_transfer(any_factory, {1: 0.90, 2: 0.91, 3: 0.92}, {1: 0.40, 2: 0.41, 3: 0.42})
    general = _with_transfer(any_factory, {1: 0.80, 2: 0.81, 3: 0.82}, {1: 0.79, 2: 0.80, 3: 0.81})
    announced_only = _entry(any_factory, {1: 0.50, 2: 0.51, 3: 0.52})
    board = {e.submission.id: e for e in _board(any_factory.session)}
    assert [_places(board[s.id]) for s in (exploiter, general, announced_only)] == [(1, 1), (2, 2), (3, 3)]
    assert board[exploiter.id].headline.mean == pytest.approx(0.91)  # the transfer runs are not in the headline
    assert board[exploiter.id].transfer.mean == pytest.approx(0.41) and board[exploiter.id].transfer.n == 3
    assert (board[general.id].transfer_rank.best, board[exploiter.id].transfer_rank.best) == (1, 2)
    assert board[announced_only.id].transfer is None and board[announced_only.id].transfer_rank is None


def test_the_transfer_track_is_compared_scope_by_scope_in_a_claim_family_of_its_own(any_factory):
    exploiter = _with_transfer(any_factory, {1: 0.90, 2: 0.91, 3: 0.92}, {1: 0.40, 2: 0.41, 3: 0.42})
    general = _with_transfer(any_factory, {1: 0.80, 2: 0.81, 3: 0.82}, {1: 0.79, 2: 0.80, 3: 0.81})
    board = {e.submission.id: e for e in _board(any_factory.session)}
    transfer_names = Factory.plan(TRIALS, transfer=True).transfer_benchmarks
    assert transfer_names and all(board[general.id].benchmarks[name]["robust_score"].n == 3 for name in transfer_names)
    pair = [(board[general.id].scores, board[exploiter.id].scores)]
    (both,) = scope_differences(pair, Factory.plan(TRIALS, transfer=True))
    (announced,) = scope_differences(pair, Factory.plan(TRIALS))
    found = {d.scope: d for d in both}
    assert list(found) == [HEADLINE, *BENCHMARKS, TRANSFER, *transfer_names]
    assert found[TRANSFER].difference.mean == pytest.approx(0.39) and found[TRANSFER].claim == 1
    assert found[HEADLINE].difference.mean == pytest.approx(-0.10) and found[HEADLINE].claim == -1
    # the transfer scopes take nothing from the announced ones: the same claims as on a board without them
    assert both[: len(announced)] == announced


def test_a_transfer_score_with_fewer_trials_than_planned_is_provisional_and_unranked(any_factory):
    complete = _with_transfer(any_factory, {1: 0.90, 2: 0.91, 3: 0.92}, {1: 0.80, 2: 0.81, 3: 0.82})
    partial = any_factory.submission(trials=TRIALS, transfer=True)
    for run in partial.runs:  # every announced-flip trial, transfer trial 1 only
        if not run.transfer or run.trial == 1:
            claimed = queries.runs.claim_run(any_factory.session, run.id, "worker")
            queries.runs.complete_run(any_factory.session, run.id, claimed.attempt, any_factory.result(0.9), "")
    board = {e.submission.id: e for e in _board(any_factory.session)}
    assert board[partial.id].transfer.n == 1 and board[partial.id].transfer_provisional
    assert board[partial.id].transfer_rank is None and not board[partial.id].provisional
    assert not board[complete.id].transfer_provisional and board[complete.id].transfer_rank.best == 1


def test_transfer_is_ranked_on_the_current_flip_design_only_and_an_older_designs_trials_are_shown_marked(
    any_factory,
):
    session = any_factory.session
    older = _with_transfer(any_factory, {1: 0.90, 2: 0.91, 3: 0.92}, {1: 0.95, 2: 0.96, 3: 0.97})
    current = _with_transfer(any_factory, {1: 0.80, 2: 0.81, 3: 0.82}, {1: 0.79, 2: 0.80, 3: 0.81})
    mixed = _with_transfer(any_factory, {1: 0.70, 2: 0.71, 3: 0.72}, {1: 0.99, 2: 0.60, 3: 0.62})
    design_1 = update(Run).where(Run.transfer, Run.flip_design.is_not(None)).values(flip_design=1)
    session.execute(design_1.where(Run.submission_id == older.id))
    session.execute(design_1.where(Run.submission_id == mixed.id, Run.trial == 1))
    board = {e.submission.id: e for e in _board(session)}
    # Design 1 alone: its figures shown with their design, no transfer rank; its headline ranked as ever.
    assert board[older.id].transfer_flip_design == 1 and board[older.id].transfer.mean == pytest.approx(0.96)
    assert board[older.id].transfer_rank is None and _places(board[older.id]) == (1, 1)
    # The current design's trials only, never mixed with design 1's: 2 of 3, provisional.
    assert board[mixed.id].transfer_flip_design == FLIP_DESIGN and sorted(board[mixed.id].transfer_by_trial) == [2, 3]
    assert board[mixed.id].transfer.mean == pytest.approx(0.61) and board[mixed.id].transfer_rank is None
    assert board[current.id].transfer_flip_design == FLIP_DESIGN and board[current.id].transfer_rank.best == 1


def test_queued_hidden_failed_and_other_suites_submissions_are_left_out(factory, session):
    factory.submission(trials=TRIALS)  # queued, nothing complete
    hidden = _entry(factory, {1: 0.8, 2: 0.8, 3: 0.8})
    queries.submissions.set_hidden(session, hidden, True)
    failed = factory.submission(trials=TRIALS)
    factory.finish(failed, robust_score={1: 0.8})
    run = next(r for r in failed.runs if r.trial == 2)
    claimed = queries.runs.claim_run(session, run.id, "worker")
    queries.runs.fail_run(session, run.id, claimed.attempt, "boom", "loss", "", harness.HARNESS_VERSION)
    proxy = factory.submission(suite=Suite.PROXY)
    factory.finish(proxy)
    assert _board(session) == []


def test_results_of_another_harness_version_stay_as_history_only(factory, session):
    old = factory.submission()
    factory.finish(old, harness_version="0.9.0")
    assert _board(session) == []
    queries.submissions.rerun_submission(session, old, factory.plan())
    factory.finish(old)
    assert [entry.submission.id for entry in _board(session)] == [old.id]


def test_legacy_runs_are_paired_only_with_legacy_runs(factory, session):
    legacy = _entry(factory, {1: 0.9, 2: 0.9, 3: 0.9})
    today = _entry(factory, {1: 0.5, 2: 0.5, 3: 0.5})
    session.execute(update(Run).where(Run.submission_id == legacy.id).values(legacy_seed=True))
    board = {entry.submission.id: entry for entry in _board(session)}
    # Its trials -1..-3 share none with today's 1..3: far better, yet no claim either way, and no rank at all.
    assert sorted(board[legacy.id].headline_by_trial) == [-3, -2, -1]
    assert board[legacy.id].legacy and board[legacy.id].rank is None and not board[legacy.id].provisional
    assert _places(board[today.id]) == (1, 1) and list(board) == [today.id, legacy.id]


def test_a_submission_is_compared_paired_with_every_baseline_and_published_method_and_the_leader(factory, session):
    baseline = _entry(factory, {1: 0.60, 2: 0.62, 3: 0.61}, SubmissionKind.BASELINE)
    published = _entry(factory, {1: 0.70, 2: 0.70, 3: 0.70}, SubmissionKind.PUBLISHED)
    leader = _entry(factory, {1: 0.90, 2: 0.93, 3: 0.90})
    _entry(factory, {1: 0.50, 2: 0.50, 3: 0.50})  # another participant's: not compared with
    mine = factory.submission(trials=TRIALS)
    factory.finish(mine, robust_score={1: 0.75, 2: 0.76})
    board = _board(session)
    rows = queries.leaderboard.submission_rows(session, Suite.SMOKE, [mine.id], harness.HARNESS_VERSION)
    scores = group_by_submission(rows)[mine.id]
    found = {(c.against.id, c.scope): c for c in comparisons(scores, board, Factory.plan(TRIALS))}
    assert {against for against, _ in found} == {baseline.id, published.id, leader.id}
    assert {scope for _, scope in found} == {HEADLINE, *BENCHMARKS}
    versus_baseline = found[(baseline.id, HEADLINE)].difference
    assert versus_baseline.n == 2 and versus_baseline.mean == pytest.approx(0.145)  # paired on trials 1 and 2
    assert versus_baseline.sd == pytest.approx(0.00707, abs=1e-5) and versus_baseline.ci_low > 0
    assert found[(leader.id, HEADLINE)].is_leader and not found[(published.id, HEADLINE)].is_leader
    # 12 comparisons in the family; +0.145 +- 0.007 on two trials (t = 29.0 on 1 df, p = 0.0219) has the smallest
    # p, above 0.05 / 12 = 0.0042, so Holm claims nothing on this page, although that interval alone excludes 0
    assert versus_baseline.ci_low > 0 and {c.claim for c in found.values()} == {0}
    assert found[(leader.id, BENCHMARKS[0])].difference.mean == pytest.approx(-0.16)


def test_the_marker_moves_when_a_result_lands_or_a_submission_goes_on_or_off_the_leaderboard(any_factory):
    session = any_factory.session
    marker = lambda: queries.leaderboard.leaderboard_marker(session, Suite.SMOKE)  # noqa: E731
    submission = any_factory.submission()
    queued = marker()
    claimed = queries.runs.claim_run(session, submission.runs[0].id, "worker")
    running = marker()
    queries.runs.complete_run(session, claimed.run_id, claimed.attempt, any_factory.result(), "")
    assert marker() > running  # a result landed: a trial may be complete
    any_factory.finish(submission)
    on_board = marker()
    assert on_board > queued
    queries.submissions.set_hidden(session, submission, True)
    hidden = marker()
    assert hidden > on_board
    queries.submissions.set_hidden(session, submission, False)
    assert marker() > hidden
    assert queries.leaderboard.leaderboard_marker(session, Suite.PROXY) == 0
