"""The documents the pages link to: every link between them leads to a page that is served, a section linked to
has its anchor, and a baseline's description links the document it names instead of showing its path."""

import re

from api.pages.documents import DOCUMENTS
from db.models import SubmissionKind
from worker.baselines import SERVICE_LOSSES


def _hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


def test_every_link_of_a_served_document_to_another_one_leads_to_its_page_never_to_a_missing_file(client):
    for slug in DOCUMENTS:
        page = client.get(f"/about/{slug}")
        assert page.status_code == 200, slug
        for href in _hrefs(page.text):
            assert not href.endswith(".md") and ".md#" not in href, (slug, href)  # a file's name, not a page
            if href.startswith("/about/"):
                linked = client.get(href.split("#")[0])
                assert linked.status_code == 200 and "not deployed" not in linked.text, (slug, href)


def test_the_published_methods_link_to_the_published_results_the_proxy_calibration_and_reproducibility(client):
    links = {href.split("#")[0] for href in _hrefs(client.get("/about/published-methods").text)}
    assert links >= {"/about/published-results", "/about/proxy-calibration", "/about/reproducibility"}
    section = "/about/published-results#the-best-published-methods-run-records"
    assert section in _hrefs(client.get("/about/published-methods").text)
    assert 'id="the-best-published-methods-run-records"' in client.get("/about/published-results").text


def test_an_address_ending_in_md_is_a_404_that_names_the_file_once(client):
    page = client.get("/about/published-results.md")
    assert page.status_code == 404
    assert "docs/published-results.md</code>" in page.text and ".md.md" not in page.text


def test_a_baselines_description_links_the_document_it_names_instead_of_showing_its_path(client, factory):
    kind, description = SERVICE_LOSSES["generalized_ce"]
    assert kind is SubmissionKind.BASELINE and "docs/published-results.md" in description
    baseline = factory.submission(kind=kind)
    baseline.name, baseline.description = "generalized_ce", description
    factory.finish(baseline)
    link = '<a href="/about/published-results">docs/published-results.md</a>'
    assert link in client.get("/").text
    assert link in client.get(f"/submissions/{baseline.id}").text
