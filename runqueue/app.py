"""The Celery app built from the settings, its task names and queues: imports no torch, so the API can send by name."""

from celery import Celery

from settings import Settings

EXECUTE_RUN = "poisonbench.execute_run"
REAP = "poisonbench.reap"
RUNS_QUEUE = "runs"  # consumed by the GPU workers, one process per GPU
MAINTENANCE_QUEUE = "maintenance"  # the reaper: consumed by the one worker that also runs the beat scheduler
HARD_LIMIT_GRACE = 60  # seconds between the hang guard's soft limit (the run is queued again) and the hard kill


def make_celery(settings: Settings) -> Celery:
    app = Celery("poisonbench", broker=settings.celery_broker_url, include=["worker.tasks"])
    app.conf.update(
        # A message is acknowledged only once its task has finished, and given back if the worker process
        # dies: a crash loses no run. The database's guarded claim makes a second delivery harmless.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a busy GPU worker holds no message another worker could start
        worker_concurrency=1,  # one process per GPU
        task_ignore_result=True,  # results go to the runs table, not to a result backend
        task_default_queue=RUNS_QUEUE,
        task_routes={EXECUTE_RUN: {"queue": RUNS_QUEUE}, REAP: {"queue": MAINTENANCE_QUEUE}},
        task_annotations={
            EXECUTE_RUN: {
                "soft_time_limit": settings.run_hang_limit,
                "time_limit": settings.run_hang_limit + HARD_LIMIT_GRACE,
            }
        },
        # Publishing gives up after about 3 s when the broker is down: the run stays undispatched in the
        # database and the reaper sends it later, so the API answers instead of hanging.
        task_publish_retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5},
        broker_connection_retry_on_startup=True,
        beat_schedule={"reap": {"task": REAP, "schedule": float(settings.reaper_interval)}},
        # Kept in memory: the reaper's interval needs no state across restarts, and beat's default shelve file
        # made the beat thread die on a full data root ("No space left on device"), silently ending the reaper.
        beat_scheduler="celery.beat:Scheduler",
    )
    if settings.celery_broker_url.startswith(("redis://", "rediss://")):
        # Redis redelivers an unacknowledged message after this long; the SQLAlchemy transport has none.
        app.conf.broker_transport_options = {"visibility_timeout": settings.broker_visibility_timeout}
    return app
