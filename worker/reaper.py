"""The reaper: requeues runs whose worker went silent and sends runs that have no broker message."""

import logging
from datetime import timedelta

from celery import Celery
from sqlalchemy.orm import Session

from db import queries
from db.models import utcnow
from db.session import session_scope
from runqueue.dispatch import dispatch_runs, pending_messages
from settings import Settings
from worker.retry import WorkerWentSilent, decide, settle

logger = logging.getLogger(__name__)


def reap(settings: Settings, celery: Celery) -> list[int]:
    """One pass; returns the ids of the runs sent to the broker. Safe to run anywhere, any number of times:
    every change is a guarded transition, and a message too many is dropped by the worker's guarded claim."""
    silence = timedelta(seconds=settings.heartbeat_timeout)
    with session_scope(settings.sqlalchemy_url) as session:
        for run_id, attempt in queries.runs.stale_runs(session, utcnow() - silence):
            _retire_silent_run(session, settings, run_id, attempt)
        to_send = queries.runs.undispatched_runs(session)
        # A queued run sent long ago whose message is not in the queue was lost with the broker: with
        # prefetch 1 and late acknowledgement a worker holds no message it has not started, so an empty queue
        # means no queued run has one.
        if pending_messages(celery) == 0:
            to_send += queries.runs.undispatched_runs(session, dispatched_before=utcnow() - silence)
        to_send = sorted(set(to_send))
    if to_send:
        with session_scope(settings.sqlalchemy_url) as session:
            dispatch_runs(celery, session, to_send)
        logger.info("reaper sent %d runs: %s", len(to_send), to_send)
    return to_send


def _retire_silent_run(session: Session, settings: Settings, run_id: int, attempt: int) -> None:
    """Back to the queue while attempts remain, else a final infrastructure failure: worker.retry decides."""
    decision = decide(WorkerWentSilent(), attempt, settings)
    if not settle(session, run_id, attempt, decision, log_tail=""):
        return
    if decision.cause is None:
        logger.warning("run %d requeued: %s", run_id, decision.error)
    else:
        logger.warning("run %d failed by the infrastructure after %d attempts", run_id, attempt)
