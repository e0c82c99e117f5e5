"""Access: tokens random and hashed, failed tokens rate-limited, nobody sees another's code, logs or hidden work."""

import hashlib
import hmac
import re
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.deps import get_session
from api.main import create_app
from api.pages import routes as pages
from db import queries
from db.models import Participant, SubmissionStatus
from db.tokens import TOKEN_PREFIX, new_token

SECRET_CODE = "class RobustLoss:  # secret-code-7c1f\n    pass\n"
SECRET_LOG = "Traceback: secret-log-93ab"
HIDDEN_NAME = "hidden-work-5e2d"


def test_tokens_are_random_and_long():
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(t.startswith(TOKEN_PREFIX) and len(t) >= len(TOKEN_PREFIX) + 43 for t in tokens)  # >= 256 bits


def test_a_participants_row_holds_the_tokens_sha256_and_never_the_token(factory, session):
    participant, token = factory.participant()
    row = session.execute(select(Participant.__table__).where(Participant.id == participant.id)).one()
    assert participant.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert not any(token in str(value) for value in row)


def test_a_token_is_checked_with_a_constant_time_comparison(factory, session, monkeypatch):
    participant, token = factory.participant()
    compared, real_compare_digest = [], hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real_compare_digest(a, b))
    assert queries.participants.participant_by_token(session, token) == participant
    assert compared == [(participant.token_sha256, participant.token_sha256)]


# ---------------------------------------------------------------- failed authentication


@pytest.fixture
def limited_client(settings, session):
    """The API allowing 3 failed token checks per address per second."""
    app = create_app(settings.model_copy(update={"auth_failures_allowed": 3, "auth_failure_window": 1}))
    app.dependency_overrides[get_session] = lambda: session
    return app


def test_repeated_wrong_tokens_from_one_address_answer_429_with_retry_after_until_the_window_passes(
    limited_client, auth
):
    wrong = {"Authorization": "Bearer pb_guess"}
    with TestClient(limited_client, client=("203.0.113.7", 1000)) as client:
        assert [client.get("/api/submissions", headers=wrong).status_code for _ in range(3)] == [401] * 3
        blocked = client.get("/api/submissions", headers=auth)  # even the right token waits now
        assert blocked.status_code == 429 and blocked.headers["retry-after"] == "1"
        assert "too many failed token checks" in blocked.json()["detail"]
        time.sleep(1.1)
        assert client.get("/api/submissions", headers=auth).status_code == 200


def test_another_address_is_not_held_up_and_missing_tokens_do_not_count(limited_client, auth):
    with TestClient(limited_client, client=("203.0.113.7", 1000)) as guesser:
        for _ in range(3):
            guesser.get("/api/submissions", headers={"Authorization": "Bearer pb_guess"})
        assert guesser.get("/api/submissions", headers=auth).status_code == 429
    with TestClient(limited_client, client=("198.51.100.2", 1000)) as other:
        assert [other.get("/api/submissions").status_code for _ in range(5)] == [401] * 5
        assert other.get("/api/submissions", headers=auth).status_code == 200


# ---------------------------------------------------------------- one participant's view of another's work


@pytest.fixture
def others_work(factory, session):
    """Another participant's finished visible submission with a log tail, and a hidden one."""
    owner, _ = factory.participant("owner")
    visible = factory.submission(owner, code=SECRET_CODE)
    factory.finish(visible)
    for run in visible.runs:
        run.log_tail = SECRET_LOG
    hidden = factory.submission(owner, code=SECRET_CODE + "# hidden\n")
    hidden.name = HIDDEN_NAME
    factory.finish(hidden)
    queries.submissions.set_hidden(session, hidden, True)
    session.flush()
    return visible, hidden


def _reading_paths(app) -> list[str]:
    """Every GET path of the API (from its schema) and of the pages whose only parameter, if any, is an id."""
    api_paths = [path for path, operations in app.openapi()["paths"].items() if "get" in operations]
    page_paths = [route.path for route in pages.router.routes if "GET" in route.methods]
    return [path for path in api_paths + page_paths if set(re.findall(r"{(\w+)}", path)) <= {"submission_id"}]


@pytest.mark.parametrize("caller", ["another participant", "anonymous"])
def test_no_reading_route_shows_another_participants_code_logs_or_hidden_submission(
    app, client, factory, others_work, caller
):
    visible, hidden = others_work
    headers = {"Authorization": f"Bearer {factory.participant()[1]}"} if caller != "anonymous" else {}
    paths = _reading_paths(app)
    assert {"/api/submissions", "/api/submissions/{submission_id}", "/api/leaderboard", "/"} <= set(paths)
    for path in paths:
        for submission in (visible, hidden):
            url = path.replace("{submission_id}", str(submission.id))
            response = client.get(url, headers=headers)
            for secret in ("secret-code-7c1f", "secret-log-93ab", HIDDEN_NAME):
                assert secret not in response.text, f"{url} shows {secret} to {caller}"


def test_another_participant_gets_404_for_a_submissions_owner_views_and_cannot_cancel_it(
    client, factory, others_work, session
):
    visible, hidden = others_work
    running = factory.submission(visible.participant)
    other = {"Authorization": f"Bearer {factory.participant()[1]}"}
    for submission in (visible, hidden, running):
        for suffix in ("", "/code"):
            assert client.get(f"/api/submissions/{submission.id}{suffix}", headers=other).status_code == 404
    assert client.post(f"/api/submissions/{running.id}/cancel", headers=other).status_code == 404
    session.expire(running)
    assert running.status is SubmissionStatus.QUEUED


def test_the_owner_and_an_admin_do_see_the_code_and_the_log(client, factory, others_work, session):
    visible, _ = others_work
    admin = {"Authorization": f"Bearer {factory.participant(is_admin=True)[1]}"}
    owner = {"Authorization": f"Bearer {queries.participants.rotate_token(session, visible.participant)}"}
    for headers in (owner, admin):
        assert client.get(f"/api/submissions/{visible.id}/code", headers=headers).json()["code"] == SECRET_CODE
        detail = client.get(f"/api/submissions/{visible.id}", headers=headers).json()
        assert detail["runs"][0]["log_tail"] == SECRET_LOG


# ---------------------------------------------------------------- CORS


def test_a_cors_preflight_is_not_granted_by_default(client):
    response = client.options(
        "/api/submissions",
        headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in response.headers


def test_named_cors_origins_are_granted_and_no_other(settings, session):
    app = create_app(settings.model_copy(update={"cors_origins": ("https://friend.example",)}))
    app.dependency_overrides[get_session] = lambda: session
    with TestClient(app) as client:
        friend = client.get("/api/leaderboard", headers={"Origin": "https://friend.example"})
        stranger = client.get("/api/leaderboard", headers={"Origin": "https://elsewhere.example"})
    assert friend.headers["access-control-allow-origin"] == "https://friend.example"
    assert "access-control-allow-origin" not in stranger.headers
