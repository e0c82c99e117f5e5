"""The Celery tasks, thin over worker.lifecycle and worker.reaper: one task per run, and the reaper."""

from celery import Task, shared_task

from runqueue.app import EXECUTE_RUN, REAP
from settings import get_settings
from worker import lifecycle, reaper
from worker.sandboxed_loss import open_loss

RETRY_COUNTDOWN = 10  # seconds before an infrastructure failure's retry: lets a passing hiccup pass


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
