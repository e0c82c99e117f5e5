"""/docs in a browser with no other host reachable: the vendored Swagger UI draws every operation of the API."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route, expect

pytestmark = pytest.mark.slow


def test_the_api_docs_render_every_operation_offline_and_within_the_pages_policy(page: Page, base_url):
    own_host = urlsplit(base_url).netloc
    elsewhere: list[str] = []

    def only_our_own_host(route: Route) -> None:
        if urlsplit(route.request.url).netloc == own_host:
            route.continue_()
        else:  # what a machine with no internet would answer
            elsewhere.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", only_our_own_host)
    refused: list[str] = []  # Chromium reports each thing the Content-Security-Policy blocked on the console
    page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))

    page.goto(f"{base_url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("PoisonBench")
    schema = page.request.get(f"{base_url}/openapi.json").json()
    operations = [(method, path) for path, methods in schema["paths"].items() for method in methods]
    blocks = page.locator(".opblock")
    expect(blocks).to_have_count(len(operations))
    expect(page.locator(".opblock-summary-path", has_text="/api/submissions/{submission_id}/cancel")).to_be_visible()
    page.locator(".opblock-summary", has_text="/api/benchmarks").first.click()  # an operation opens on a click
    expect(page.locator(".opblock.is-open .parameters-container").first).to_be_visible()
    assert elsewhere == [] and refused == []


def test_the_api_docs_lead_back_to_the_board(page: Page, base_url):
    page.goto(f"{base_url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("PoisonBench")
    back = page.get_by_role("navigation", name="Site").get_by_role("link", name="Leaderboard")
    expect(back).to_be_visible()
    back.click()
    expect(page.locator("h1")).to_have_text("Leaderboard")
