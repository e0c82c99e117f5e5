"""The submit page in a browser: obvious mistakes caught before sending, the API's refusal shown beside the
form, and an accepted upload followed on its page to the end of a real smoke run."""

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from db import queries
from db.models import Submission
from db.session import session_scope
from harness.losses import loss_path
from harness.registry import Suite, trained_benchmark_names

pytestmark = pytest.mark.slow

pytest.importorskip("sandbox.proxy", reason="the sandbox is not there yet")

SMOKE_TRIALS = 2  # settings.trials_smoke's default, which the test service keeps


def _python_file(name: str, text: str) -> dict:
    return {"name": name, "mimeType": "text/x-python", "buffer": text.encode()}


@pytest.fixture
def token(service_settings) -> str:
    with session_scope(service_settings.sqlalchemy_url) as session:
        return queries.participants.create_participant(session, "ada")[1]


def _submissions(service_settings) -> int:
    with session_scope(service_settings.sqlalchemy_url) as session:
        return session.scalar(select(func.count()).select_from(Submission))


def test_obvious_mistakes_are_shown_at_their_fields_and_nothing_is_sent(page: Page, base_url, service_settings):
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.goto(f"{base_url}/submit")
    page.get_by_label("Loss file").set_input_files(_python_file("loss.txt", "class RobustLoss: pass\n"))
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#token-error")).to_have_text("Enter your token.")
    expect(page.locator("#file-error")).to_have_text('"loss.txt" is not a .py file.')
    expect(page.locator("#name-error")).to_have_text("Give the submission a name.")
    expect(page.get_by_label("Token")).to_be_focused()  # the first field to fix
    too_large = "#" * (service_settings.max_file_bytes + 1)
    page.get_by_label("Loss file").set_input_files(_python_file("loss.py", too_large))
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#file-error")).to_contain_text("the limit is")
    assert posts == []


def test_a_file_without_robust_loss_is_refused_in_the_sandbox_and_the_reason_shown_beside_the_form(
    page: Page, base_url, token, service_settings
):
    page.goto(f"{base_url}/submit")
    page.get_by_label("Token").fill(token)
    page.get_by_label("Loss file").set_input_files(_python_file("loss.py", "class NotTheLoss:\n    pass\n"))
    page.get_by_label("Name", exact=True).fill("no loss here")
    page.get_by_role("button", name="Submit").click()
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("Not accepted (422)", timeout=60_000)  # the real check starts a sandbox
    expect(refusal).to_contain_text("RobustLoss")
    assert page.url == f"{base_url}/submit"
    form, beside = page.locator("#submit-form").bounding_box(), refusal.bounding_box()
    assert beside["x"] >= form["x"] + form["width"]  # next to the form on a desktop screen
    assert _submissions(service_settings) == 0


def test_an_upload_through_the_form_is_followed_on_its_page_to_the_end_of_a_smoke_run(
    page: Page, base_url, token, start_worker
):
    start_worker()
    page.goto(f"{base_url}/submit")
    page.get_by_label("Token").fill(token)
    code = loss_path("generalized_ce").read_text() + "\n# mine\n"
    page.get_by_label("Loss file").set_input_files(_python_file("gce.py", code))
    page.get_by_label("Name", exact=True).fill("gce again")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"{base_url}/submissions/1", timeout=60_000)
    expect(page.locator("h1")).to_have_text("gce again")
    expect(page.locator("#status")).to_have_text("succeeded", timeout=400_000)
    runs = len(trained_benchmark_names(Suite.SMOKE)) * SMOKE_TRIALS
    expect(page.locator("#runs .progress-text")).to_have_text(["epoch 2 of 2"] * runs)
    expect(page.locator("#trial-grid .status")).to_have_text(["succeeded"] * runs)
    expect(page.locator("#curves canvas")).to_have_count(runs)
    expect(page.locator("#code")).to_contain_text("# mine")  # the owner's token came along in the tab
    page.goto(f"{base_url}/")
    expect(page.locator("#leaderboard .pick-name a")).to_have_text(["gce again"])


def test_the_paper_link_is_sent_with_the_upload_and_shown_on_its_page_and_a_malformed_one_caught_first(
    page: Page, base_url, token, service_settings
):
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.goto(f"{base_url}/submit")
    page.get_by_label("Token").fill(token)
    code = loss_path("generalized_ce").read_text() + "\n# linked\n"
    page.get_by_label("Loss file").set_input_files(_python_file("gce.py", code))
    page.get_by_label("Name", exact=True).fill("gce with its paper")
    page.get_by_label("Paper or code").fill("ftp://example.org/paper.pdf")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#link-error")).to_contain_text("http(s)")
    assert posts == []
    page.get_by_label("Paper or code").fill("https://arxiv.org/abs/1805.07836")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"{base_url}/submissions/*", timeout=60_000)  # the real check starts a sandbox
    expect(page.locator("#paper-link")).to_have_attribute("href", "https://arxiv.org/abs/1805.07836")
    with session_scope(service_settings.sqlalchemy_url) as session:
        stored = session.scalars(select(Submission.link)).all()
    assert stored == ["https://arxiv.org/abs/1805.07836"]
