"""`admin baselines rerun` with a real worker: the board shows every service loss at every moment while the
rerun trains, and the new results replace the old in one step once all of them succeeded."""

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.main import create_app
from db import queries
from db.models import Submission
from db.session import session_scope
from harness.registry import Suite
from runqueue.app import make_celery
from runqueue.dispatch import dispatch_runs
from scoring.plan import suite_plan
from worker.baselines import SERVICE_LOSSES, queue_baselines

pytest.importorskip("sandbox.proxy", reason="the sandbox is not there yet")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
RERUN_WAIT = 600  # seconds for two sandboxed smoke runs on two busy cores


def test_a_baseline_rerun_keeps_the_board_populated_until_its_new_results_replace_the_old(
    service_settings, start_worker, factory_for
):
    plan = suite_plan(service_settings, Suite.SMOKE)
    benchmark = plan.benchmarks[0]
    with session_scope(service_settings.sqlalchemy_url) as session:
        queue_baselines(session, plan)
        for service_loss in session.scalars(select(Submission)):
            factory_for(session).finish(service_loss, robust_score=0.5)
        rerun = session.scalar(select(Submission).where(Submission.name == "cross_entropy"))
        run_ids = queries.submissions.rerun_submission(session, rerun, plan, [benchmark])
        rerun_id = rerun.id
    with session_scope(service_settings.sqlalchemy_url) as session:
        dispatch_runs(make_celery(service_settings), session, run_ids)
    worker = start_worker()
    with TestClient(create_app(service_settings)) as client:
        deadline, reads = time.monotonic() + RERUN_WAIT, 0
        while True:
            board = client.get("/api/leaderboard").json()
            reads += 1
            assert board["count"] == len(SERVICE_LOSSES), board  # nobody ever leaves the board
            entry = next(e for e in board["data"] if e["submission_id"] == rerun_id)
            if not entry["rerunning"]:
                break
            assert entry["benchmarks"][benchmark]["robust_score"]["mean"] == 0.5  # the old results meanwhile
            assert time.monotonic() < deadline and worker.poll() is None, "the rerun did not finish"
            time.sleep(0.5)
    assert reads > 1 and not entry["rerun_failed"]
    replaced = entry["benchmarks"][benchmark]["robust_score"]
    assert replaced["n"] == len(plan.trials) and replaced["mean"] != 0.5  # trained for real, in one step
