"""Sending runs to the broker and recording it; used by the API, the admin command and the reaper."""

import logging
from collections.abc import Sequence

from celery import Celery
from kombu.exceptions import OperationalError
from kombu.transport import sqlalchemy as sqlalchemy_transport
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
        channel = connection.default_channel
        try:
            return channel.queue_declare(queue=RUNS_QUEUE, passive=False).message_count
        finally:
            # kombu's SQLAlchemy transport (the embedded broker) opens a session per channel and never closes
            # it: each count kept a pooled connection checked out, until the reaper's 16th pass waited out the
            # pool's 30 s and failed (kombu 5.7; tests/worker/test_connection_pools.py).
            if isinstance(channel, sqlalchemy_transport.Channel):
                channel.session.close()
