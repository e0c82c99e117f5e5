"""The submission's status as a function of its runs' outcomes."""

from db.models import FailureCause, RunStatus, SubmissionStatus
from db.status import RUN_TRANSITIONS, RunOutcome, failure_cause, submission_status

QUEUED = RunOutcome(RunStatus.QUEUED, started=False)
REQUEUED = RunOutcome(RunStatus.QUEUED, started=True)
RUNNING = RunOutcome(RunStatus.RUNNING, started=True)
SUCCEEDED = RunOutcome(RunStatus.SUCCEEDED, started=True)
CANCELLED = RunOutcome(RunStatus.CANCELLED, started=False)
LOSS_FAILED = RunOutcome(RunStatus.FAILED, started=True, failure_cause=FailureCause.LOSS)
LOST = RunOutcome(RunStatus.FAILED, started=True, failure_cause=FailureCause.INFRASTRUCTURE)


def test_a_submission_is_queued_until_one_of_its_runs_starts():
    assert submission_status([QUEUED, QUEUED]) is SubmissionStatus.QUEUED
    assert submission_status([RUNNING, QUEUED]) is SubmissionStatus.RUNNING
    assert submission_status([SUCCEEDED, QUEUED]) is SubmissionStatus.RUNNING


def test_a_run_requeued_after_an_infrastructure_failure_keeps_the_submission_running():
    assert submission_status([REQUEUED, SUCCEEDED]) is SubmissionStatus.RUNNING


def test_a_submission_succeeds_only_when_every_run_succeeded():
    assert submission_status([SUCCEEDED, SUCCEEDED]) is SubmissionStatus.SUCCEEDED
    assert submission_status([SUCCEEDED, CANCELLED]) is SubmissionStatus.CANCELLED


def test_one_failed_run_fails_the_submission_and_the_loss_is_blamed_only_for_its_own_faults():
    assert submission_status([SUCCEEDED, LOSS_FAILED, CANCELLED]) is SubmissionStatus.FAILED
    assert failure_cause([LOST, SUCCEEDED]) is FailureCause.INFRASTRUCTURE
    assert failure_cause([LOST, LOSS_FAILED]) is FailureCause.LOSS
    assert failure_cause([SUCCEEDED]) is None


def test_finished_runs_never_change_status_again():
    for status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED):
        assert RUN_TRANSITIONS[status] == frozenset()
