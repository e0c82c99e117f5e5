"""A host so busy that a run's wall time passes its limit: the run is charged only its own CPU time, so it succeeds;
a loss that spins still fails, as the loss's fault."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from db.models import FailureCause, RunStatus, SubmissionStatus
from settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

CPU_BUDGET = 30  # seconds of the trainer's CPU time per run: a smoke run needs a few
PAUSE = CPU_BUDGET + 10  # seconds the worker gets no CPU at all, mid-run: the busiest host there is

SPINNING_LOSS = """import torch.nn.functional as F


class RobustLoss:
    calls = 0

    def compute_loss(self, logits, labels, epoch):
        RobustLoss.calls += 1
        while RobustLoss.calls > 6:  # past the upload's dry run of 6 calls: in training (8 calls a smoke run)
            pass
        return F.cross_entropy(logits, labels)
"""


@pytest.fixture
def service_settings(service_settings: Settings) -> Settings:
    """Heartbeats outlast the pause, as production's 120 s would: a frozen worker is not a dead one yet."""
    return service_settings.model_copy(update={"heartbeat_timeout": PAUSE + 60})


@pytest.fixture
def service_environment(service_environment: dict[str, str]) -> dict[str, str]:
    return {**service_environment, "POISONBENCH_RUN_TIME_LIMIT": str(CPU_BUDGET)}


@pytest.fixture
def busy_loops() -> Iterator[None]:
    """Two busy loops at normal priority, each in a session of its own as other users' work is: 2 cores saturated."""
    loops = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True) for _ in range(2)
    ]
    yield
    for loop in loops:
        loop.kill()
        loop.wait(30)


def test_a_run_whose_wall_time_passes_its_limit_on_a_busy_host_succeeds_on_its_first_attempt(
    busy_loops, slow_submission_mid_training, final_runs, succeeded_once
):
    training = slow_submission_mid_training()
    trainer = training.workers[0]
    os.killpg(trainer.pid, signal.SIGSTOP)  # the training worker, its pool and its loss process get no CPU
    time.sleep(PAUSE)
    os.killpg(trainer.pid, signal.SIGCONT)
    status, runs = final_runs(training.submission_id, 150, training.workers)
    succeeded_once(status, runs)
    assert [run.attempts for run in runs] == [1] * len(runs)  # neither failed nor queued again
    paused = next(run for run in runs if run.id == training.run_id)
    assert (paused.finished_at - paused.started_at).total_seconds() > CPU_BUDGET  # the limit mattered


def test_a_loss_that_spins_on_a_busy_host_still_fails_as_the_losss_fault(
    busy_loops, upload, start_worker, final_runs
):
    workers = start_worker(), start_worker("--maintenance")
    accepted = upload(SPINNING_LOSS, "spinning")
    assert accepted.status_code == 202, accepted.text  # the dry run's calls do not spin
    status, runs = final_runs(accepted.json()["id"], 150, workers)
    assert status is SubmissionStatus.FAILED
    failed = [run for run in runs if run.status is RunStatus.FAILED]
    assert failed and all(run.failure_cause is FailureCause.LOSS for run in failed)
    assert all("took more than 10 s on one minibatch" in run.error for run in failed)
