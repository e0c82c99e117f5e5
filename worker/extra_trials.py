"""Extra trials where the order is open: when no run waits for a worker, one more trial for the entry whose rank
interval most overlaps the leader's or a neighbour's (scoring.leaderboard.open_entries), up to the plan's
most_trials. Claims stay valid however the entries were chosen: the board tests each trial count at its own share
of alpha (scoring.statistics.look_levels; docs/statistics.md, "Extra trials")."""

import logging

from celery import Celery
from sqlalchemy.orm import Session

import harness
from db import queries
from db.session import session_scope
from harness.registry import Suite
from runqueue.dispatch import dispatch_runs
from scoring.leaderboard import group_by_submission, open_entries, rank_entries
from scoring.plan import suite_plan
from settings import Settings

logger = logging.getLogger(__name__)


def add_extra_trial(settings: Settings, celery: Celery) -> list[int]:
    """At most one trial for one entry per call, and only while nothing is queued: returns the new runs' ids."""
    with session_scope(settings.sqlalchemy_url) as session:
        run_ids = _queue_extra_trial(session, settings)
    if run_ids:
        with session_scope(settings.sqlalchemy_url) as session:
            dispatch_runs(celery, session, run_ids)
    return run_ids


def _queue_extra_trial(session: Session, settings: Settings) -> list[int]:
    if not queries.runs.nothing_queued(session):
        return []
    for suite in Suite:
        plan = suite_plan(settings, suite)
        if not plan.extra_trials:
            continue
        rows = queries.leaderboard.board_rows(session, suite, harness.HARNESS_VERSION)
        for entry in open_entries(rank_entries(group_by_submission(rows), plan), plan.most_trials):
            run_ids = queries.submissions.add_extra_trial(session, entry.submission.id, plan)
            if run_ids:
                logger.info("extra trial for submission %d: runs %s", entry.submission.id, run_ids)
                return run_ids
    return []
