"""The API process killed with SIGKILL while uploads are in flight: an upload is whole and queued, or absent."""

import base64
import json
import threading
import time

import httpx
import pytest
from sqlalchemy import func, select

from db.models import Run, RunStatus, Submission
from db.session import session_scope
from harness.registry import Suite, trained_benchmark_names
from runqueue.app import RUNS_QUEUE, make_celery
from worker.reaper import reap

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

UPLOADS = 3
SPACING = 0.5  # seconds between two uploads: the kill finds them in different phases
# The first upload's dry run takes 6 calls x 0.02 s, the later ones' 6 x 0.6 s (each call within the check's 1 s
# limit). The uploads may all wait for the same warm checks (the API has just started), so spacing alone does not
# order them: the step times do. When the first is stored the later ones have seconds of checking left.
FIRST_STEP_SECONDS = 0.02
LATER_STEP_SECONDS = 0.6


def _queued_run_ids(redis_client) -> list[int]:
    """The run id of every message in the broker's runs queue (Celery's message protocol 2)."""
    messages = [json.loads(raw) for raw in redis_client.lrange(RUNS_QUEUE, 0, -1)]
    return sorted(json.loads(base64.b64decode(message["body"]))[0][0] for message in messages)


def test_uploads_cut_off_by_a_killed_api_are_either_stored_whole_and_queued_or_not_stored(
    api, upload, service_settings, redis_client, database, wait_until, slow_loss_file
):
    answers: dict[int, httpx.Response | Exception] = {}

    def send(number: int) -> None:
        try:
            seconds = FIRST_STEP_SECONDS if number == 0 else LATER_STEP_SECONDS
            answers[number] = upload(slow_loss_file(seconds, tag=f"upload {number}"), f"upload {number}")
        except httpx.TransportError as error:  # the server died before answering
            answers[number] = error

    senders = [threading.Thread(target=send, args=(number,)) for number in range(UPLOADS)]
    for sender in senders:
        sender.start()
        time.sleep(SPACING)
    wait_until(lambda: database("SELECT count(*) FROM submissions"), 90, "the first stored upload")
    api.kill()
    for sender in senders:
        sender.join(150)

    accepted = {answer.json()["id"] for answer in answers.values() if isinstance(answer, httpx.Response)}
    assert all(answer.status_code == 202 for answer in answers.values() if isinstance(answer, httpx.Response))
    unanswered = [number for number, answer in answers.items() if isinstance(answer, Exception)]
    assert unanswered, "the kill came after every upload was answered: the test proved nothing"
    reap(service_settings, make_celery(service_settings))  # sends the runs stored but not yet sent
    with session_scope(service_settings.sqlalchemy_url) as session:
        stored = set(session.scalars(select(Submission.id)))
        runs_per_submission = dict(
            session.execute(select(Run.submission_id, func.count()).group_by(Run.submission_id)).all()
        )
        run_ids = sorted(session.scalars(select(Run.id)))
        statuses = set(session.scalars(select(Run.status)))
    assert accepted <= stored  # every 202 is stored
    runs = len(trained_benchmark_names(Suite.SMOKE)) * service_settings.trials(Suite.SMOKE)  # per benchmark and trial
    assert runs_per_submission == {submission: runs for submission in stored}
    assert statuses <= {RunStatus.QUEUED}
    # Each stored run has a message. A kill between sending and recording the send makes the reaper send a
    # second one, which the worker's guarded claim drops: a set, not a list.
    assert set(_queued_run_ids(redis_client)) == set(run_ids)
