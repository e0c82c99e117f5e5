"""Uploading, reading, listing and cancelling submissions through HTTP, and every way an upload is refused."""

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.deps import get_session, get_settings
from api.main import create_app
from api.validation import CheckPool
from db import queries
from db.models import Run, SubmissionStatus, utcnow
from harness.registry import Suite, trained_benchmark_names
from tests.api.conftest import VALID_LOSS


def test_an_accepted_upload_answers_202_with_its_url_and_queues_one_message_per_run(
    upload, redis_client, client, auth, settings
):
    response = upload(description="cross-entropy, nothing more")
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "queued" and body["url"].endswith(f"/api/submissions/{body['id']}")
    assert response.headers["location"] == body["url"]
    benchmarks = len(trained_benchmark_names(Suite.SMOKE))
    runs = benchmarks * settings.trials(Suite.SMOKE)  # one per benchmark and trial, the transfer track's included
    assert redis_client.llen("runs") == runs
    detail = client.get(body["url"], headers=auth).json()
    assert detail["description"] == "cross-entropy, nothing more" and detail["suite"] == "smoke"
    assert detail["queue_position"] == 1 and len(detail["runs"]) == runs and detail["trials_planned"] == 2
    assert {run["status"] for run in detail["runs"]} == {"queued"}


def test_a_submission_keeps_the_trials_planned_when_it_was_queued_after_the_settings_change(
    upload, client, auth, app, settings
):
    url = upload().json()["url"]
    app.dependency_overrides[get_settings] = lambda: settings.model_copy(update={"trials_smoke": 5})
    assert client.get(url, headers=auth).json()["trials_planned"] == settings.trials(Suite.SMOKE) == 2


def test_a_request_without_a_token_is_refused_with_a_bearer_challenge(upload):
    response = upload(headers={})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in response.json()["detail"]


def test_a_wrong_token_is_refused(upload):
    response = upload(headers={"Authorization": "Bearer pb_not-a-token"})
    assert response.status_code == 401 and "invalid token" in response.json()["detail"]


def test_a_file_over_the_size_limit_is_refused_before_validation_naming_the_setting(upload, settings, check):
    response = upload(code="#" * (settings.max_file_bytes + 1))
    assert response.status_code == 413
    assert f"over the {settings.max_file_bytes:,}-byte limit" in response.json()["detail"]
    assert check.calls == 0


def test_a_body_far_over_the_limit_is_refused_before_it_is_read_naming_the_same_limit(upload, settings):
    response = upload(code="#" * (settings.max_file_bytes * 4))
    assert response.status_code == 413
    assert f"over the {settings.max_file_bytes:,}-byte limit" in response.json()["detail"]


def test_a_file_that_is_not_utf8_is_refused_with_the_offending_byte(upload):
    response = upload(code=b"class RobustLoss:\n    pass  # caf\xe9\n")
    assert response.status_code == 422
    assert "not UTF-8" in response.json()["detail"] and "0xe9" in response.json()["detail"]


def test_an_empty_file_is_refused_before_the_check_and_nothing_is_stored_or_queued(
    upload, check, client, auth, redis_client
):
    response = upload(code=b"  \n")
    assert response.status_code == 422
    assert response.json()["detail"] == "the file is empty; upload a Python file that defines class RobustLoss"
    assert check.calls == 0  # refused by the cheap checks: no sandbox was started for it
    assert client.get("/api/submissions", headers=auth).json()["count"] == 0 and redis_client.llen("runs") == 0


def test_a_sandbox_check_that_does_not_answer_in_time_is_a_503_and_stores_nothing(upload, check, client, auth):
    check.check = CheckPool(size=1, timeout=0.001, niceness=0)  # the real check, given no time to answer
    try:
        response = upload()
    finally:
        check.check.close()
    assert response.status_code == 503 and "try again" in response.json()["detail"]
    assert client.get("/api/submissions", headers=auth).json()["count"] == 0


def test_identical_code_is_refused_with_409_naming_the_existing_submission(upload):
    first = upload().json()
    response = upload(name="the same again")
    assert response.status_code == 409
    assert response.json()["existing_submission_id"] == first["id"]
    assert f"submission {first['id']}" in response.json()["detail"]


def test_the_daily_limit_answers_429_with_when_to_retry(upload, settings):
    for n in range(settings.submissions_per_day):
        assert upload(code=f"{VALID_LOSS}# {n}\n").status_code == 202
    response = upload(code=f"{VALID_LOSS}# one more\n")
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert f"limit of {settings.submissions_per_day} submissions per day" in response.json()["detail"]


@pytest.mark.parametrize(
    ("form", "files", "field"),
    [
        ({}, {"file": ("a.py", b"x")}, "body.name"),
        ({"name": "x"}, None, "body.file"),
        ({"name": " "}, {"file": ("a.py", b"x")}, "body.name"),
        ({"name": "x" * 101}, {"file": ("a.py", b"x")}, "body.name"),
    ],
)
def test_malformed_uploads_get_a_422_naming_the_field(client, auth, form, files, field):
    response = client.post("/api/submissions", headers=auth, data=form, files=files)
    assert response.status_code == 422
    assert field in [problem["field"] for problem in response.json()["errors"]]


@pytest.mark.parametrize("kept", [0.3, 0.9, 0.99])
def test_a_multipart_body_cut_off_before_its_closing_boundary_gets_a_400_with_a_json_detail(client, auth, kept):
    body = (
        b'--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nmine\r\n'
        b'--x\r\nContent-Disposition: form-data; name="file"; filename="loss.py"\r\n\r\n'
        + VALID_LOSS.encode()
        + b"\r\n--x--\r\n"
    )
    response = client.post(
        "/api/submissions",
        headers={**auth, "Content-Type": "multipart/form-data; boundary=x"},
        content=body[: int(len(body) * kept)],
    )
    assert response.status_code == 400
    assert "ends before its closing boundary" in response.json()["detail"]


def test_a_submission_has_no_queue_position_nor_estimated_start_once_a_run_trains(upload, client, auth, session):
    accepted = upload().json()
    assert client.get(accepted["url"], headers=auth).json()["queue_position"] == 1
    first_run = queries.submissions.get_submission(session, accepted["id"]).runs[0]
    queries.runs.claim_run(session, first_run.id, "test-worker")
    detail = client.get(accepted["url"], headers=auth).json()
    statuses = [run["status"] for run in detail["runs"]]
    assert detail["status"] == "running" and statuses.count("queued") == len(statuses) - 1
    assert detail["queue_position"] is None and detail["estimated_start"] is None


def test_a_queued_submission_is_given_a_start_and_a_finish_and_a_running_one_its_finish(
    upload, client, auth, session, factory
):
    timed = factory.submission(transfer=True)  # every benchmark of the suite trained here once, in 60 s
    factory.finish(timed)
    began = utcnow() - timedelta(seconds=60)
    session.execute(update(Run).where(Run.submission_id == timed.id).values(started_at=began, finished_at=utcnow()))
    accepted = upload().json()
    detail = client.get(accepted["url"], headers=auth).json()
    start, finish = (datetime.fromisoformat(detail[field]) for field in ("estimated_start", "estimated_finish"))
    # nothing ahead and one worker: it starts now and its runs follow one another, 60 s each
    assert abs((start - utcnow()).total_seconds()) < 30
    assert abs((finish - start).total_seconds() - 60 * len(detail["runs"])) < 30
    public = client.get(f"{accepted['url']}/public").json()
    public_finish = datetime.fromisoformat(public["estimated_finish"])  # anyone may see both
    assert public["estimated_start"] is not None and abs((public_finish - finish).total_seconds()) < 30
    first_run = queries.submissions.get_submission(session, accepted["id"]).runs[0]
    queries.runs.claim_run(session, first_run.id, "test-worker")
    detail = client.get(accepted["url"], headers=auth).json()
    assert detail["estimated_start"] is None and datetime.fromisoformat(detail["estimated_finish"]) > utcnow()


def test_a_participant_lists_only_their_own_submissions(upload, client, auth, factory):
    mine = upload().json()
    other_token = factory.participant()[1]
    assert upload(code=f"{VALID_LOSS}# other\n", headers={"Authorization": f"Bearer {other_token}"}).status_code == 202
    page = client.get("/api/submissions", headers=auth).json()
    assert page["count"] == 1 and [s["id"] for s in page["data"]] == [mine["id"]]
    assert "code" not in page["data"][0]


def test_another_participants_submission_is_not_found(upload, client, factory):
    submission = upload().json()
    other = {"Authorization": f"Bearer {factory.participant()[1]}"}
    assert client.get(submission["url"], headers=other).status_code == 404
    assert client.post(f"{submission['url']}/cancel", headers=other).status_code == 404


def test_an_unknown_or_malformed_submission_id_is_a_clear_4xx(client, auth):
    assert client.get("/api/submissions/999999", headers=auth).status_code == 404
    response = client.get("/api/submissions/abc", headers=auth)
    assert response.status_code == 422 and "submission_id" in response.json()["detail"]


def test_cancelling_stops_every_run_and_a_second_cancel_is_a_409(upload, client, auth):
    submission = upload().json()
    response = client.post(f"{submission['url']}/cancel", headers=auth)
    assert response.status_code == 200
    assert response.json()["status"] == SubmissionStatus.CANCELLED
    assert {run["status"] for run in response.json()["runs"]} == {"cancelled"}
    again = client.post(f"{submission['url']}/cancel", headers=auth)
    assert again.status_code == 409
    detail = again.json()["detail"]
    assert detail == f"submission {submission['id']} has already finished (cancelled); nothing to cancel"


def test_a_cancelled_submission_does_not_count_against_the_daily_limit_nor_as_a_duplicate(
    upload, client, auth, settings
):
    cancelled = upload().json()
    client.post(f"{cancelled['url']}/cancel", headers=auth)
    for n in range(settings.submissions_per_day - 1):
        assert upload(code=f"{VALID_LOSS}# {n}\n").status_code == 202
    assert upload().status_code == 202  # the cancelled file again takes the day's last place: no 409, no 429
    assert upload(code=f"{VALID_LOSS}# one more\n").status_code == 429  # the limit is full without the cancelled


def test_an_upload_while_the_broker_is_down_is_stored_and_left_for_the_reaper(settings, session, factory):
    app = create_app(settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"}))
    app.dependency_overrides[get_session] = lambda: session
    token = factory.participant()[1]
    with TestClient(app) as client:
        response = client.post(
            "/api/submissions",
            headers={"Authorization": f"Bearer {token}"},
            files={"file": ("loss.py", VALID_LOSS)},
            data={"name": "while down"},
        )
    assert response.status_code == 202
    benchmarks = len(trained_benchmark_names(Suite.SMOKE))
    assert len(queries.runs.undispatched_runs(session)) == benchmarks * settings.trials(Suite.SMOKE)


def test_the_uploaded_files_base_name_is_stored_for_the_workers_messages_to_cite(client, auth, session):
    files = {"file": ("losses/my_loss.py", VALID_LOSS, "text/x-python")}
    response = client.post("/api/submissions", headers=auth, files=files, data={"name": "named"})
    assert response.status_code == 202, response.text
    assert queries.submissions.get_submission(session, response.json()["id"]).filename == "my_loss.py"
