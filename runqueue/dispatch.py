"""Sending runs to the broker and recording it; used by the API, the admin command and the reaper."""

import logging
from collections.abc import Sequence

from celery import Celery
from kombu.exceptions import OperationalError
from sqlalchemy.orm import Session

from db import queries
from runqueue.app import EXECUTE_RUN, RUNS_QUEUE

logger = logging.getLogger(__name__)


def dispatch_runs(celery: Celery, session: Session, run_ids: Sequence[int]) -> bool:
    """One message per run, sent after the runs were committed (a worker must find its row).

    Returns False when the broker cannot be reached: the runs stay undispatched; the reaper sends them later.
    """
    sent = []
    try:
        for run_id in run_ids:
            celery.send_task(EXECUTE_RUN, args=[run_id], queue=RUNS_QUEUE)
            sent.append(run_id)
    except OperationalError as error:
        logger.warning("broker unreachable, %d runs left for the reaper: %s", len(run_ids) - len(sent), error)
    if sent:
        queries.runs.mark_dispatched(session, sent)
    return len(sent) == len(run_ids)


def pending_messages(celery: Celery) -> int:
    """Messages waiting in the runs queue (not those a worker holds)."""
    with celery.connection_for_write() as connection:
        return connection.default_channel.queue_declare(queue=RUNS_QUEUE, passive=False).message_count
