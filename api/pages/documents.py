"""The repository's documents the pages link to (how ranks are computed, the published methods and where they come
from), as HTML, their links to one another made links between the pages."""

import re
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup, escape

DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"
# The only documents served, by the path the pages link to: nothing else under docs/ is reachable.
DOCUMENTS = {
    "statistics": "statistics.md",
    "published-methods": "published-methods.md",
    "published-results": "published-results.md",
    "recorded-results": "recorded-results.md",
    "transfer": "transfer.md",
    "proxy-calibration": "proxy-calibration.md",
    "reproducibility": "reproducibility.md",
}
SLUGS = {filename: slug for slug, filename in DOCUMENTS.items()}
# A path to one of them as a text names it, e.g. a baseline's description: "published baseline (docs/x.md)".
DOCUMENT_PATH = re.compile(r"docs/([\w-]+\.md)")

# CommonMark with tables (the power table), raw HTML off: a document's markup is escaped, never run, and
# markdown-it refuses javascript:, vbscript: and data: links by default.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


def document_url(filename: str) -> str | None:
    """The page of a served document (`published-results.md` -> /about/published-results), else None."""
    slug = SLUGS.get(filename)
    return None if slug is None else f"/about/{slug}"


@cache
def document_html(slug: str) -> tuple[str, str] | None:
    """(title, body HTML) of the document `slug`, or None when it is not one of DOCUMENTS or not deployed."""
    filename = DOCUMENTS.get(slug)
    if filename is None or not (DOCS_DIR / filename).is_file():
        return None
    text = (DOCS_DIR / filename).read_text(encoding="utf-8")
    first_line = text.splitlines()[0] if text else filename
    tokens = _MARKDOWN.parse(text)
    _anchor_headings(tokens)
    _link_documents(tokens)
    return first_line.lstrip("# ").strip(), _MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {})


def _anchor_headings(tokens: list[Token]) -> None:
    """Each heading gets the id GitHub gives it, so a link to `x.md#a-section` lands on its section."""
    for heading, inline in zip(tokens, tokens[1:], strict=False):
        if heading.type == "heading_open":
            slug = re.sub(r"[^\w\- ]", "", inline.content.lower()).replace(" ", "-")
            heading.attrSet("id", slug)


def _link_documents(tokens: list[Token]) -> None:
    """A relative link to a served document goes to its page; one to a file that is not served stays as its text
    (it would otherwise lead to a page saying the file is not deployed)."""
    for link in (child for inline in tokens for child in inline.children or []):
        href = link.attrGet("href") if link.type == "link_open" else None
        if href is None or urlsplit(href).scheme or href.startswith(("/", "#")):
            continue
        path, _, section = href.partition("#")
        url = document_url(path)
        if url is not None:
            link.attrSet("href", f"{url}#{section}" if section else url)
        else:
            _unlink(tokens, link)


def _unlink(tokens: list[Token], opening: Token) -> None:
    """The link `opening` starts, as its text alone."""
    for children in (token.children for token in tokens if token.children and opening in token.children):
        start = children.index(opening)
        closing = next(i for i in range(start, len(children)) if children[i].type == "link_close")
        for token in (children[start], children[closing]):
            token.type, token.tag, token.attrs = "text", "", {}


def with_document_links(text: str) -> Markup:
    """`text` escaped, each path to a served document in it (`docs/published-results.md`) a link to its page."""

    def link(found: re.Match) -> str:
        url = document_url(found.group(1))
        return found.group(0) if url is None else f'<a href="{url}">{found.group(0)}</a>'

    return Markup(DOCUMENT_PATH.sub(link, str(escape(text))))
