"""The Celery tasks, thin over worker.lifecycle and worker.reaper: one task per run, and the reaper."""

from contextlib import AbstractContextManager

from celery import Task, shared_task

from harness.contract import DEFAULT_FILENAME, LossFn
from runqueue.app import EXECUTE_RUN, REAP
from sandbox.config import SandboxConfig
from sandbox.proxy import open_sandboxed_loss
from settings import get_settings
from worker import lifecycle, reaper

RETRY_COUNTDOWN = 10  # seconds before an infrastructure failure's retry: lets a passing hiccup pass


def open_loss(source: str, filename: str | None) -> AbstractContextManager[LossFn]:
    return open_sandboxed_loss(source, SandboxConfig(), filename or DEFAULT_FILENAME)


@shared_task(bind=True, name=EXECUTE_RUN)
def execute_run(self: Task, run_id: int) -> None:
    try:
        lifecycle.execute_run(run_id, get_settings(), self.request.hostname, open_loss)
    except lifecycle.RetryLater as later:
        # Celery's own retry sends a new message; the database already counts the attempt (max_retries None).
        raise self.retry(exc=later, countdown=RETRY_COUNTDOWN, max_retries=None) from None


@shared_task(bind=True, name=REAP)
def reap(self: Task) -> None:
    reaper.reap(get_settings(), self.app)
