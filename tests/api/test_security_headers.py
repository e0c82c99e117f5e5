"""The security headers on every answer: same-origin CSP, nosniff, no framing, referrer and permissions policies."""

import re

import pytest
from fastapi.testclient import TestClient

from api.deps import get_session
from api.main import create_app
from api.security_headers import PAGE_POLICY

EXPECTED = {
    "content-security-policy": PAGE_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/leaderboard", 200),
        ("GET", "/", 200),
        ("GET", "/static/css/site.css", 200),
        ("GET", "/api/nothing", 404),
        ("GET", "/api/submissions", 401),
        ("POST", "/api/submissions", 413),  # answered by the body limit, before any route
    ],
)
def test_every_answer_carries_the_security_headers_and_no_hsts_by_default(client, method, path, status):
    body = b"#" * 10**6 if status == 413 else None
    response = client.request(method, path, content=body)
    assert response.status_code == status
    assert {name: response.headers.get(name) for name in EXPECTED} == EXPECTED
    assert "camera=()" in response.headers["permissions-policy"]
    assert "strict-transport-security" not in response.headers


def test_the_page_policy_allows_only_the_sites_own_scripts_styles_and_images():
    directives = dict(directive.split(" ", 1) for directive in PAGE_POLICY.split("; "))
    assert directives["default-src"] == "'self'" and directives["img-src"] == "'self' data:"
    assert directives["frame-ancestors"] == "'none'" and "unsafe" not in PAGE_POLICY


@pytest.mark.parametrize("path", ["/", "/submit", "/docs"])
def test_the_pages_need_no_inline_script_or_style_the_policy_would_block(client, path):
    html = client.get(path).text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.DOTALL)
    assert scripts and all('src="' in attributes and not body.strip() for attributes, body in scripts)
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html)


def test_the_api_docs_are_served_under_the_pages_policy_from_the_sites_own_files(client):
    response = client.get("/docs")
    assert response.status_code == 200 and response.headers["content-security-policy"] == PAGE_POLICY
    # what the page loads (scripts, styles, icons): the site's own files; its links (the header's way back to the
    # board) stay on the site
    loaded = re.findall(r'(?:src="|<link[^>]*href=")([^"]+)"', response.text)
    assert any("swagger-ui-bundle.js" in url for url in loaded)
    assert all(url.startswith(("http://testserver/static/", "/openapi.json", "data:")) for url in loaded), loaded
    links = re.findall(r'<a[^>]*href="([^"]+)"', response.text)
    assert links and all(url.startswith(("/", "#")) and not url.startswith("//") for url in links), links


def test_hsts_is_sent_when_configured_for_https(settings, session):
    app = create_app(settings.model_copy(update={"hsts_max_age": 31536000}))
    app.dependency_overrides[get_session] = lambda: session
    with TestClient(app) as client:
        response = client.get("/healthz")
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


def test_an_error_in_the_services_own_code_is_a_logged_json_500_with_the_security_headers(upload, check, caplog):
    def broken_check(code: str, filename: str):
        raise RuntimeError("a bug in the checker")

    check.check = broken_check
    response = upload()
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error; the administrators have the details in the logs"}
    assert {name: response.headers.get(name) for name in EXPECTED} == EXPECTED
    assert "a bug in the checker" in caplog.text and "POST /api/submissions" in caplog.text
