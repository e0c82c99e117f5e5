"""Training stays below the uploads' checks: under SCHED_IDLE by default, at WORKER_NICENESS without it."""

import os
import time

import pytest

from settings import WORKER_NICENESS, Settings

pytestmark = pytest.mark.slow

START_SECONDS = 60  # the worker sets its priority before Celery starts: a second on an idle machine


def test_a_worker_without_sched_idle_runs_nicer_than_the_uploads_checks(start_worker, service_environment):
    service_environment["POISONBENCH_IDLE_BACKGROUND_WORK"] = "false"
    worker = start_worker()
    deadline = time.monotonic() + START_SECONDS
    while _niceness(worker.pid) == 0 and time.monotonic() < deadline and worker.poll() is None:
        time.sleep(0.2)
    assert os.sched_getscheduler(worker.pid) == os.SCHED_OTHER
    assert _niceness(worker.pid) == max(WORKER_NICENESS, os.getpriority(os.PRIO_PROCESS, 0))
    assert _niceness(worker.pid) > Settings().check_niceness


def _niceness(pid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, pid)
