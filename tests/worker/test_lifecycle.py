"""A run's lifecycle on a worker, called as a plain function with the loss in-process (the sandbox is
tested in tests/sandbox): each outcome lands in the run's row."""

import contextlib
import dataclasses

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.orm import joinedload

import harness
from db import queries
from db.models import FailureCause, Run, RunStatus, SubmissionStatus
from db.session import session_scope
from harness.loss_file import load_loss
from harness.losses import loss_path
from harness.registry import Suite, get_benchmark
from scoring.trials import trial_seeds
from tests.conftest import Factory
from worker import lifecycle

CROSS_ENTROPY = loss_path("cross_entropy").read_text()


@contextlib.contextmanager
def in_process(source: str, filename: str | None):
    yield load_loss(source, filename) if filename else load_loss(source)


def _queued_run(settings, code: str = CROSS_ENTROPY, filename: str | None = None) -> int:
    with session_scope(settings.sqlalchemy_url) as session:
        owner, _ = queries.participants.create_participant(session, "ada")
        submission = queries.submissions.create_submission(
            session,
            owner,
            plan=dataclasses.replace(Factory.plan(), benchmarks=("resnet20-cifar10-labelflip",)),
            name="loss",
            code=code,
            sha256="0" * 64,
            filename=filename,
        )
        return submission.runs[0].id


def _run(settings, run_id: int) -> Run:
    """The run as stored, with its submission."""
    with session_scope(settings.sqlalchemy_url) as session:
        return session.get(Run, run_id, options=[joinedload(Run.submission)])


def test_a_queued_run_is_trained_and_its_result_stored_with_its_curve(worker_settings):
    run_id = _queued_run(worker_settings)
    lifecycle.execute_run(run_id, worker_settings, "worker@test", in_process)
    run = _run(worker_settings, run_id)
    epochs = get_benchmark("resnet20-cifar10-labelflip", Suite.SMOKE).epochs
    assert run.status is RunStatus.SUCCEEDED and run.attempts == 1 and run.worker == "worker@test"
    assert run.epochs_done == run.epochs_total == epochs == len(run.curve)
    assert set(run.metrics) >= {"test_acc", "poison_fit", "poison_fit_noaug", "clean_fit", "robust_score"}
    assert run.harness_version == harness.HARNESS_VERSION
    assert run.result["poison_seed"] is None  # the service keeps it secret
    seeds = trial_seeds(worker_settings.master_seed, Suite.SMOKE, 1)
    assert run.result["seed"] == run.seed == seeds.training_seed and str(seeds.poison_seed) not in str(run.result)
    assert run.submission.status is SubmissionStatus.SUCCEEDED


def test_a_redelivered_message_for_a_run_already_taken_does_nothing(worker_settings):
    run_id = _queued_run(worker_settings)
    with session_scope(worker_settings.sqlalchemy_url) as session:
        queries.runs.claim_run(session, run_id, "first@worker")
    lifecycle.execute_run(run_id, worker_settings, "second@worker", in_process)
    run = _run(worker_settings, run_id)
    assert run.status is RunStatus.RUNNING and run.attempts == 1 and run.worker == "first@worker"


def test_a_loss_that_raises_fails_its_run_for_good_and_says_where(worker_settings):
    code = "class RobustLoss:\n    def compute_loss(self, logits, labels, epoch):\n        return 1 / 0\n"
    run_id = _queued_run(worker_settings, code, filename="my_loss.py")
    lifecycle.execute_run(run_id, worker_settings, "worker", in_process)
    run = _run(worker_settings, run_id)
    assert run.status is RunStatus.FAILED and run.failure_cause is FailureCause.LOSS
    assert "my_loss.py, line 3" in run.error and "ZeroDivisionError" in run.error
    assert run.submission.status is SubmissionStatus.FAILED


def test_a_run_past_its_hang_guard_is_queued_again_not_failed_as_the_losss_fault(worker_settings):
    @contextlib.contextmanager
    def stuck(_source: str, _filename: str | None):
        raise SoftTimeLimitExceeded()
        yield

    run_id = _queued_run(worker_settings)
    with pytest.raises(lifecycle.RetryLater):
        lifecycle.execute_run(run_id, worker_settings, "worker", stuck)
    run = _run(worker_settings, run_id)
    assert run.status is RunStatus.QUEUED and run.failure_cause is None and "taken as stuck" in run.error


def test_a_run_over_its_cpu_budget_is_stopped_after_the_epoch_and_queued_again(worker_settings):
    signature = "def compute_loss(self, logits, labels, epoch):"
    burning = CROSS_ENTROPY.replace(signature, signature + """
        import time
        spin_until = time.process_time() + 0.5
        while time.process_time() < spin_until:  # in-process here, so the trainer's CPU time
            pass""")
    assert burning != CROSS_ENTROPY
    run_id = _queued_run(worker_settings, code=burning)
    with pytest.raises(lifecycle.RetryLater):
        lifecycle.execute_run(run_id, worker_settings.model_copy(update={"run_time_limit": 1}), "worker", in_process)
    run = _run(worker_settings, run_id)
    assert run.status is RunStatus.QUEUED and run.failure_cause is None
    assert "more than its 1 s of CPU time on attempt 1" in run.error


def test_an_infrastructure_failure_queues_the_run_again_until_the_attempts_run_out(worker_settings):
    @contextlib.contextmanager
    def sandbox_down(_source: str, _filename: str | None):
        raise OSError("bubblewrap: no permission")
        yield

    run_id = _queued_run(worker_settings)
    with pytest.raises(lifecycle.RetryLater):
        lifecycle.execute_run(run_id, worker_settings, "worker", sandbox_down)
    run = _run(worker_settings, run_id)
    assert run.status is RunStatus.QUEUED and run.attempts == 1 and "OSError" in run.error
    assert run.dispatched_at is not None  # the retry's message, not the reaper, brings it back
    lifecycle.execute_run(run_id, worker_settings, "worker", sandbox_down)  # attempt 2 of max_attempts 2
    run = _run(worker_settings, run_id)
    assert run.status is RunStatus.FAILED and run.failure_cause is FailureCause.INFRASTRUCTURE
    assert "not counted against you" in run.error
    assert run.submission.failure_cause is FailureCause.INFRASTRUCTURE


def test_a_run_cancelled_while_training_stops_at_the_next_epoch_and_stores_nothing(worker_settings):
    @contextlib.contextmanager
    def cancelled_meanwhile(source: str, _filename: str | None):
        with session_scope(worker_settings.sqlalchemy_url) as session:
            run = session.get(Run, run_id)
            queries.submissions.cancel_submission(session, run.submission)
        yield load_loss(source)

    run_id = _queued_run(worker_settings)
    lifecycle.execute_run(run_id, worker_settings, "worker", cancelled_meanwhile)
    run = _run(worker_settings, run_id)
    assert run.status is RunStatus.CANCELLED and run.metrics is None and run.epochs_done == 0
