"""The public endpoints: leaderboard, benchmarks, health, readiness, OpenAPI docs; CORS closed by default."""

import pytest
from fastapi.testclient import TestClient

from api.deps import get_session
from api.main import create_app
from db.models import SubmissionKind
from harness.registry import BENCHMARKS, Suite, benchmark_names


def test_the_leaderboard_shows_complete_submissions_beside_the_marked_baselines(client, factory, session):
    baseline = factory.submission(kind=SubmissionKind.BASELINE, trials=2)
    submission = factory.submission(trials=2)
    factory.finish(baseline, robust_score={1: 0.60, 2: 0.61})
    factory.finish(submission, robust_score={1: 0.75, 2: 0.77})
    factory.submission()  # still queued: not shown
    board = client.get("/api/leaderboard").json()  # no token needed
    assert board["suite"] == "smoke" and board["benchmarks"] == benchmark_names(Suite.SMOKE)
    assert board["trials_planned"] == 2  # the smoke suite's setting
    assert [m["name"] for m in board["metrics"]][-1] == "robust_score" and board["metrics"][-1]["higher_is_better"]
    assert [(e["submission_id"], e["kind"], e["rank_best"], e["rank_worst"]) for e in board["data"]] == [
        (submission.id, "submission", 1, 1),
        (baseline.id, "baseline", 2, 2),  # the paired difference +0.15, +0.16 is significant (p 0.021, one test)
    ]
    entry = board["data"][0]
    assert entry["headline"]["n"] == 2 and entry["headline"]["mean"] == pytest.approx(0.76)
    assert entry["headline"]["ci_low"] < 0.76 < entry["headline"]["ci_high"]
    assert entry["trials_complete"] == entry["trials_planned"] == 2 and not entry["provisional"]
    assert not entry["rerunning"] and not entry["rerun_failed"] and entry["link"] is None
    assert set(entry["benchmarks"]) == set(board["benchmarks"])
    assert entry["benchmarks"][board["benchmarks"][0]]["poison_fit"]["mean"] == pytest.approx(0.24)


def test_the_leaderboard_of_another_suite_is_separate_and_an_unknown_suite_is_a_422(client, factory):
    factory.finish(factory.submission())
    assert client.get("/api/leaderboard", params={"suite": "proxy"}).json()["data"] == []
    response = client.get("/api/leaderboard", params={"suite": "imagenet"})
    assert response.status_code == 422 and "suite" in response.json()["detail"]


def test_the_benchmarks_are_listed_from_the_registry(client):
    every = client.get("/api/benchmarks").json()
    assert every["count"] == len(BENCHMARKS)
    smoke = client.get("/api/benchmarks", params={"suite": "smoke"}).json()
    assert [b["name"] for b in smoke["data"]] == benchmark_names(Suite.SMOKE)


def test_health_and_readiness_answer_when_database_and_broker_are_up(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["broker"] == "ok" and ready.json()["database"] == "ok"


def test_readiness_fails_with_503_naming_an_unreachable_broker(settings, session):
    app = create_app(settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"}))
    app.dependency_overrides[get_session] = lambda: session
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["detail"] == "not ready: broker unreachable"


def test_the_openapi_docs_are_served(client):
    assert client.get("/docs").status_code == 200
    assert "/api/submissions" in client.get("/openapi.json").json()["paths"]


def test_an_unknown_path_is_a_json_404(client):
    response = client.get("/api/nothing")
    assert response.status_code == 404 and response.json() == {"detail": "Not Found"}


def test_cross_origin_requests_get_no_cors_headers_by_default(client):
    response = client.get("/api/leaderboard", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in response.headers
