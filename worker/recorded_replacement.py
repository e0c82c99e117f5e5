"""Recorded results replaced by runs of this machine when the workers are idle: the baselines and published
methods a new service installs were trained elsewhere, where the same seeds give other runs, so a submission can
be compared with them only unpaired (docs/statistics.md). When no run waits for a worker, one of them is rerun here;
its recorded results stay on the board until every new run has succeeded (queries.submissions.rerun_submission),
and the queue's fair order keeps its runs behind every participant's (queries.queue_position)."""

import logging

from celery import Celery

from db import queries
from db.session import session_scope
from harness.registry import Suite
from runqueue.dispatch import dispatch_runs
from scoring.plan import suite_plan
from settings import Settings

logger = logging.getLogger(__name__)


def replace_recorded_results(settings: Settings, celery: Celery) -> list[int]:
    """At most one entry's rerun per call, and only while nothing is queued: returns the new runs' ids."""
    if not settings.replace_recorded_when_idle:
        return []
    suites = [settings.suite] if settings.suite is not None else list(Suite)
    with session_scope(settings.sqlalchemy_url) as session:
        if not queries.runs.nothing_queued(session):
            return []
        entry = queries.submissions.next_recorded_service_entry(session, suites)
        if entry is None:
            return []
        run_ids = queries.submissions.rerun_submission(session, entry, suite_plan(settings, entry.suite))
        logger.info("idle: retraining the recorded results of %s (submission %d) here", entry.name, entry.id)
    with session_scope(settings.sqlalchemy_url) as session:
        dispatch_runs(celery, session, run_ids)
    return run_ids
