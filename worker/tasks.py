"""The Celery tasks, thin over worker.lifecycle, worker.reaper, worker.recorded_replacement and worker.extra_trials:
one task per run, and the periodic pass that reaps and, when the queue is empty, retrains a recorded entry here or
adds an extra trial."""

from celery import Task, shared_task

from runqueue.app import EXECUTE_RUN, REAP
from settings import get_settings
from worker import extra_trials, lifecycle, reaper, recorded_replacement
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
    settings = get_settings()
    reaper.reap(settings, self.app)
    recorded_replacement.replace_recorded_results(settings, self.app)
    extra_trials.add_extra_trial(settings, self.app)  # only if that queued nothing: it waits for an empty queue
