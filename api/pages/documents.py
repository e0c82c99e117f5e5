"""The repository's documents the pages link to (how ranks are computed, the published methods), as HTML."""

from functools import cache
from pathlib import Path

from markdown_it import MarkdownIt

DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"
# The only documents served, by the path the pages link to: nothing else under docs/ is reachable.
DOCUMENTS = {
    "statistics": "statistics.md",
    "published-methods": "published-methods.md",
    "recorded-results": "recorded-results.md",
    "transfer": "transfer.md",
}

# CommonMark with tables (the power table), raw HTML off: a document's markup is escaped, never run, and
# markdown-it refuses javascript:, vbscript: and data: links by default.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


@cache
def document_html(slug: str) -> tuple[str, str] | None:
    """(title, body HTML) of the document `slug`, or None when it is not one of DOCUMENTS or not deployed."""
    filename = DOCUMENTS.get(slug)
    if filename is None or not (DOCS_DIR / filename).is_file():
        return None
    text = (DOCS_DIR / filename).read_text(encoding="utf-8")
    first_line = text.splitlines()[0] if text else filename
    return first_line.lstrip("# ").strip(), _MARKDOWN.render(text)
