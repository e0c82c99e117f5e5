"""A submission's optional link to its paper or code: given at upload, checked, stored, shown beside it."""

import pytest

from api.schemas import MAX_LINK_LENGTH
from db import queries
from tests.api.conftest import VALID_LOSS

PAPER = "https://arxiv.org/abs/1805.07836"


def test_a_link_given_at_upload_is_returned_with_the_submission_its_progress_and_its_leaderboard_entry(
    upload, client, auth, factory, session
):
    accepted = upload(link=PAPER).json()
    assert client.get(accepted["url"], headers=auth).json()["link"] == PAPER
    assert client.get("/api/submissions", headers=auth).json()["data"][0]["link"] == PAPER
    assert client.get(f"{accepted['url']}/public").json()["link"] == PAPER
    factory.finish(queries.submissions.get_submission(session, accepted["id"]))
    assert [entry["link"] for entry in client.get("/api/leaderboard").json()["data"]] == [PAPER]


@pytest.mark.parametrize("form", [{}, {"link": ""}, {"link": "   "}])
def test_no_link_or_an_empty_form_field_is_no_link(upload, client, auth, form):
    accepted = upload(**form)
    assert accepted.status_code == 202, accepted.text
    assert client.get(accepted.json()["url"], headers=auth).json()["link"] is None


@pytest.mark.parametrize(
    ("link", "message"),
    [
        ("ftp://example.org/paper.pdf", "scheme should be 'http' or 'https'"),
        ("javascript:alert(1)", "scheme should be 'http' or 'https'"),
        ("arxiv.org/abs/1805.07836", "valid URL"),
        ("https://example.org/" + "a" * MAX_LINK_LENGTH, f"at most {MAX_LINK_LENGTH}"),
    ],
)
def test_a_link_that_is_not_a_short_http_url_is_refused_naming_the_field(upload, check, link, message):
    response = upload(code=VALID_LOSS, link=link)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.link" and message in response.json()["detail"]
    assert check.calls == 0  # refused before the sandbox starts


def test_a_link_is_stored_as_normalised_with_its_path_kept(upload, client, auth):
    accepted = upload(link="HTTPS://ArXiv.ORG/abs/1805.07836")
    assert client.get(accepted.json()["url"], headers=auth).json()["link"] == PAPER


def test_a_stored_link_that_is_not_http_is_never_served_as_a_link(upload, client, auth, factory, session):
    accepted = upload(link=PAPER).json()
    submission = queries.submissions.get_submission(session, accepted["id"])
    submission.link = "javascript:alert(1)"  # written before the upload's check existed, or by hand
    factory.finish(submission)
    assert client.get(accepted["url"], headers=auth).json()["link"] is None
    assert client.get(f"{accepted['url']}/public").json()["link"] is None
    assert [entry["link"] for entry in client.get("/api/leaderboard").json()["data"]] == [None]
