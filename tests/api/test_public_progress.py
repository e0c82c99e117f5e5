"""GET /api/submissions/{id}/public (anyone, a visible submission) and /code (its owner and admins only)."""

import pytest

from db import queries
from db.models import FailureCause, SubmissionKind
from harness.registry import Suite, benchmark_names

SECRET = "class RobustLoss:  # mine alone\n    pass\n"


def test_anyone_reads_a_visible_submissions_progress_without_its_code_error_or_log(client, factory, session):
    participant = factory.participant("ada")[0]
    submission = factory.submission(participant=participant, code=SECRET)
    run = submission.runs[0]
    attempt = queries.runs.claim_run(session, run.id, "test-worker").attempt
    queries.runs.fail_run(session, run.id, attempt, "NaN loss", FailureCause.LOSS, "log line", "x")
    body = client.get(f"/api/submissions/{submission.id}/public").json()
    assert body["participant"] == "ada" and body["status"] == "failed"
    assert body["runs"][0]["status"] == "failed" and body["runs"][0]["curve"] == []
    assert "NaN loss" not in str(body) and "log line" not in str(body) and "mine alone" not in str(body)
    private = {"error", "log_tail", "code", "failure_cause"}  # its description is public: the board shows it
    assert private.isdisjoint(body.keys() | body["runs"][0].keys())


def test_a_hidden_submission_answers_404_to_visitors_and_others_and_200_to_its_owner(client, factory, session):
    owner, owner_token = factory.participant()
    other_token = factory.participant()[1]
    submission = factory.submission(participant=owner)
    queries.submissions.set_hidden(session, submission, True)
    url = f"/api/submissions/{submission.id}/public"
    assert client.get(url).status_code == 404
    assert client.get(url, headers={"Authorization": f"Bearer {other_token}"}).status_code == 404
    assert client.get(url, headers={"Authorization": f"Bearer {owner_token}"}).status_code == 200


def test_a_wrong_token_on_the_public_view_is_refused_rather_than_ignored(client, factory):
    submission = factory.submission()
    answer = client.get(f"/api/submissions/{submission.id}/public", headers={"Authorization": "Bearer pb_wrong"})
    assert answer.status_code == 401 and "token" in answer.json()["detail"]


def test_the_code_is_answered_to_its_owner_and_an_admin_only(client, factory):
    owner, owner_token = factory.participant()
    admin_token = factory.participant(is_admin=True)[1]
    other_token = factory.participant()[1]
    submission = factory.submission(participant=owner, code=SECRET)
    url = f"/api/submissions/{submission.id}/code"
    for token in (owner_token, admin_token):
        assert client.get(url, headers={"Authorization": f"Bearer {token}"}).json()["code"] == SECRET
    refused = client.get(url, headers={"Authorization": f"Bearer {other_token}"})
    assert refused.status_code == 404 and "mine alone" not in refused.text
    assert client.get(url).status_code == 401


def test_the_owners_detail_carries_each_runs_log_tail(client, factory, session, auth, token):
    participant = queries.participants.participant_by_token(session, token)
    submission = factory.submission(participant=participant)
    run = submission.runs[0]
    attempt = queries.runs.claim_run(session, run.id, "test-worker").attempt
    queries.runs.fail_run(session, run.id, attempt, "NaN loss", FailureCause.LOSS, "the last lines", "x")
    detail = client.get(f"/api/submissions/{submission.id}", headers=auth).json()
    assert detail["runs"][0]["log_tail"] == "the last lines"


def test_anyone_sees_a_submissions_trials_and_its_paired_comparisons_with_the_baselines_and_the_leader(client, factory):
    baseline = factory.submission(kind=SubmissionKind.BASELINE, trials=2)
    factory.finish(baseline, robust_score={1: 0.60, 2: 0.62})
    mine = factory.submission(trials=2)
    factory.finish(mine, robust_score={1: 0.70, 2: 0.71})
    body = client.get(f"/api/submissions/{mine.id}/public").json()
    assert body["trials_planned"] == 2 and {run["trial"] for run in body["runs"]} == {1, 2}
    assert body["queue_position"] is None and body["estimated_start"] is None  # nothing waits
    headline = next(c for c in body["comparisons"] if c["scope"] == "headline")
    assert (headline["against_id"], headline["against_name"], headline["against_kind"]) == (
        baseline.id,
        baseline.name,
        "baseline",
    )
    assert headline["is_leader"]  # the only other entry leads the board
    assert headline["difference"]["n"] == 2 and headline["difference"]["mean"] == pytest.approx(0.095)
    assert {c["scope"] for c in body["comparisons"]} == {"headline", *benchmark_names(Suite.SMOKE)}
