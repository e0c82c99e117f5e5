"""The shared queries: tokens, limits, guarded run transitions, reruns and the queue."""

from datetime import timedelta

import pytest

from db import queries
from db.models import FailureCause, Participant, RunStatus, SubmissionStatus, utcnow
from harness.registry import FLIP_DESIGN, Suite, benchmark_names
from harness.result import ResultSchemaError


def test_a_token_is_stored_only_as_its_hash_and_a_rotated_one_replaces_it(factory, session):
    participant, token = factory.participant()
    assert token.startswith("pb_") and token not in participant.token_sha256
    assert queries.participants.participant_by_token(session, token) == participant
    new_token = queries.participants.rotate_token(session, participant)
    assert queries.participants.participant_by_token(session, token) is None
    assert queries.participants.participant_by_token(session, new_token) == participant


def test_a_submission_gets_one_queued_run_per_benchmark_and_trial(factory):
    submission = factory.submission(trials=2)
    runs = {(run.benchmark, run.trial) for run in submission.runs}
    assert runs == {(b, t) for b in benchmark_names(Suite.SMOKE) for t in (1, 2)}
    assert submission.status is SubmissionStatus.QUEUED


def test_a_succeeded_transfer_run_is_marked_with_the_current_flip_design_an_announced_one_with_none(any_factory):
    submission = any_factory.submission(transfer=True)
    assert {run.flip_design for run in submission.runs} == {None}  # queued: no design trained it yet
    any_factory.finish(submission)
    designs = {(run.transfer, run.flip_design) for run in submission.runs}
    assert designs == {(False, None), (True, FLIP_DESIGN)}


def test_a_run_is_claimed_once_even_when_its_message_is_delivered_twice(any_factory):
    run = any_factory.submission().runs[0]
    first = queries.runs.claim_run(any_factory.session, run.id, "worker-a")
    assert first is not None and first.attempt == 1
    assert queries.runs.claim_run(any_factory.session, run.id, "worker-b") is None


def test_the_submission_follows_its_runs_from_queued_to_succeeded(any_factory):
    submission = any_factory.submission()
    session = any_factory.session
    first, *others = submission.runs
    claimed = queries.runs.claim_run(session, first.id, "worker")
    session.expire(submission)
    assert submission.status is SubmissionStatus.RUNNING and submission.started_at is not None
    assert queries.runs.complete_run(session, first.id, claimed.attempt, any_factory.result(), "log")
    any_factory.finish(submission)
    assert submission.status is SubmissionStatus.SUCCEEDED and submission.finished_at is not None
    assert all(run.metrics["robust_score"] == 0.8 for run in submission.runs)


def test_an_attempt_that_lost_its_run_can_store_neither_progress_nor_result(any_factory):
    session = any_factory.session
    run = any_factory.submission().runs[0]
    old = queries.runs.claim_run(session, run.id, "worker-a")
    assert queries.runs.requeue_run(session, run.id, old.attempt, "worker-a went silent")
    new = queries.runs.claim_run(session, run.id, "worker-b")
    assert new.attempt == old.attempt + 1
    assert not queries.runs.record_heartbeat(session, run.id, old.attempt)
    assert not queries.runs.record_progress(session, run.id, old.attempt, [{"epoch": 0}], 2)
    assert not queries.runs.complete_run(session, run.id, old.attempt, any_factory.result(), "")
    assert queries.runs.complete_run(session, run.id, new.attempt, any_factory.result(), "")
    session.refresh(run)
    assert run.status is RunStatus.SUCCEEDED and run.worker == "worker-b"


def test_a_loss_failure_fails_the_submission_at_once_and_cancels_its_other_runs(any_factory):
    session = any_factory.session
    submission = any_factory.submission()
    failing = submission.runs[0]
    claimed = queries.runs.claim_run(session, failing.id, "worker")
    queries.runs.fail_run(session, failing.id, claimed.attempt, "line 3: boom", FailureCause.LOSS, "", "1.0.0")
    session.expire(submission)
    assert submission.status is SubmissionStatus.FAILED
    assert submission.failure_cause is FailureCause.LOSS
    assert submission.error == f"{failing.benchmark}: line 3: boom"
    assert [run.status for run in submission.runs[1:]] == [RunStatus.CANCELLED] * 2


def test_a_cancelled_submission_refuses_its_running_workers_heartbeat(any_factory):
    session = any_factory.session
    submission = any_factory.submission()
    run = submission.runs[0]
    claimed = queries.runs.claim_run(session, run.id, "worker")
    assert len(queries.submissions.cancel_submission(session, submission)) == 3
    assert submission.status is SubmissionStatus.CANCELLED
    assert not queries.runs.record_heartbeat(session, run.id, claimed.attempt)


def test_a_rerun_of_a_submission_without_results_supersedes_its_runs_at_once_keeping_them_as_history(any_factory):
    session = any_factory.session
    submission = any_factory.submission()
    first, *others = submission.runs
    claimed = queries.runs.claim_run(session, first.id, "worker")
    queries.runs.fail_run(session, first.id, claimed.attempt, "infra", FailureCause.INFRASTRUCTURE, "", "x")
    session.expire(submission)
    assert submission.status is SubmissionStatus.FAILED
    new_ids = queries.submissions.rerun_submission(session, submission, any_factory.plan())
    assert submission.status is SubmissionStatus.QUEUED and [run.id for run in submission.runs] == new_ids
    session.refresh(first)
    assert first.superseded_at is not None and first.error == "infra"


def test_the_daily_limit_counts_neither_cancelled_submissions_nor_infrastructure_failures(factory, session):
    participant, _ = factory.participant()
    counted = factory.submission(participant)
    cancelled = factory.submission(participant)
    queries.submissions.cancel_submission(session, cancelled)
    lost = factory.submission(participant)
    run = lost.runs[0]
    claimed = queries.runs.claim_run(session, run.id, "worker")
    queries.runs.fail_run(session, run.id, claimed.attempt, "worker lost", FailureCause.INFRASTRUCTURE, "", "1.0.0")
    times = queries.submissions.counted_submission_times(session, participant.id, utcnow() - timedelta(days=1))
    assert times == [counted.created_at]


def test_a_duplicate_is_found_only_among_the_participants_own_standing_submissions(factory, session):
    alice, _ = factory.participant()
    bob, _ = factory.participant()
    original = factory.submission(alice, code="same code")
    assert queries.submissions.find_duplicate(session, alice.id, original.sha256, Suite.SMOKE) == original
    assert queries.submissions.find_duplicate(session, bob.id, original.sha256, Suite.SMOKE) is None
    queries.submissions.cancel_submission(session, original)
    assert queries.submissions.find_duplicate(session, alice.id, original.sha256, Suite.SMOKE) is None


def test_others_cannot_see_a_submission_but_admins_can(factory, session):
    owner, _ = factory.participant()
    other, _ = factory.participant()
    admin, _ = factory.participant(is_admin=True)
    submission = factory.submission(owner)
    assert queries.submissions.submission_for(session, submission.id, owner) == submission
    assert queries.submissions.submission_for(session, submission.id, other) is None
    assert queries.submissions.submission_for(session, submission.id, admin) == submission


def test_the_queue_position_counts_the_runs_claimed_before_and_estimates_from_recent_durations(factory, session):
    ahead = factory.submission()
    behind = factory.submission()
    assert queries.queue_position.queue_estimate(session, ahead).position == 1
    estimate = queries.queue_position.queue_estimate(session, behind)
    assert estimate.runs_ahead == 1 and estimate.estimated_start is None  # the two take turns run by run
    factory.finish(factory.submission())
    assert queries.queue_position.queue_estimate(session, behind).estimated_start is not None


def test_stale_runs_are_the_running_ones_silent_since_the_cutoff(factory, session):
    run = factory.submission().runs[0]
    claimed = queries.runs.claim_run(session, run.id, "worker")
    assert queries.runs.stale_runs(session, utcnow() - timedelta(minutes=1)) == []
    assert queries.runs.stale_runs(session, utcnow() + timedelta(seconds=1)) == [(run.id, claimed.attempt)]


def test_undispatched_runs_are_the_queued_ones_never_sent_or_sent_long_ago(factory, session):
    submission = factory.submission()
    ids = [run.id for run in submission.runs]
    assert queries.runs.undispatched_runs(session) == ids
    queries.runs.mark_dispatched(session, ids[:2])
    assert queries.runs.undispatched_runs(session) == ids[2:]
    assert queries.runs.undispatched_runs(session, utcnow() + timedelta(seconds=1)) == ids


def test_participants_are_found_by_display_name(factory, session):
    participant, _ = factory.participant("ada")
    assert queries.participants.participant_by_name(session, "ada") == participant
    assert isinstance(queries.participants.list_participants(session)[0], Participant)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda result: result["metrics"].pop("robust_score"), "metrics.robust_score"),
        (lambda result: result["metrics"].update(test_acc=float("nan")), "metrics.test_acc"),
        (lambda result: result["curve"][0].update(epoch="first"), "curve.0.epoch"),
    ],
)
def test_a_result_that_does_not_match_the_schema_is_refused_and_nothing_is_stored(any_factory, change, named):
    session = any_factory.session
    run = any_factory.submission().runs[0]
    claimed = queries.runs.claim_run(session, run.id, "worker")
    result = any_factory.result()
    change(result)
    with pytest.raises(ResultSchemaError, match=named):
        queries.runs.complete_run(session, run.id, claimed.attempt, result, "")
    session.refresh(run)
    assert run.status is RunStatus.RUNNING and run.metrics is None
