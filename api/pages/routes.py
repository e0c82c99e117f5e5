"""The HTML routes, thin: the leaderboard (/), a submission's page, the compare page, the submit form and the docs
the board links to."""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from api.board import compared_ids
from api.deps import LeaderboardDep, SessionDep, SettingsDep, SubmissionIdPath
from api.pages.documents import DOCUMENTS, document_html, with_document_links
from api.pages.leaderboard_table import plus_minus, rank_text, rank_title, safe_link
from api.pages.schema_script import schema_script
from api.schemas import MAX_LINK_LENGTH
from db import queries
from harness.registry import Suite, benchmarks_in, get_benchmark
from harness.result import PRIMARY_METRIC, PUBLISHED_METRICS

templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")
templates.env.filters["plus_minus"] = plus_minus
templates.env.filters["safe_link"] = safe_link
templates.env.filters["with_document_links"] = with_document_links
templates.env.globals.update(rank_text=rank_text, rank_title=rank_title, primary_metric=PRIMARY_METRIC)
router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/")
def leaderboard_page(request: Request, session: SessionDep, settings: SettingsDep, leaderboard: LeaderboardDep):
    board = leaderboard.board
    context = {
        "board": board,
        "ranked": sum(entry.rank_best is not None for entry in board.data),
        "transfer_ranked": sum(entry.transfer_rank_best is not None for entry in board.data),
        "benchmarks": benchmarks_in(board.suite),
        "suites": list(Suite),
        "default_suite": settings.suite,
        "in_progress": queries.submissions.submissions_in_progress(session, board.suite),
        "epochs": {  # before a start, of every benchmark a run may be of
            name: get_benchmark(name, board.suite).epochs for name in (*board.benchmarks, *board.transfer_benchmarks)
        },
    }
    return templates.TemplateResponse(request, "leaderboard.html", context)


@router.get("/submissions/{submission_id}")
def submission_page(request: Request, session: SessionDep, submission_id: SubmissionIdPath):
    """Public parts are rendered by the page's script from the public JSON; the owner's from the owner's."""
    submission = queries.submissions.public_submission(session, submission_id, viewer=None)
    context = {"submission_id": submission_id, "submission": submission, "columns": PUBLISHED_METRICS}
    # A hidden submission is a 404 to this anonymous request; the owner's script fetches it with a token.
    status = 200 if submission is not None else 404
    return templates.TemplateResponse(request, "submission.html", context, status_code=status)


@router.get("/submit")
def submit_page(request: Request, settings: SettingsDep):
    context = {"max_file_bytes": settings.max_file_bytes, "max_link_length": MAX_LINK_LENGTH}
    return templates.TemplateResponse(request, "submit.html", context)


@router.get("/compare")
def compare_page(request: Request, ids: Annotated[list[str], Query(default_factory=list)]):
    """The page's script reads /api/compare; an address it cannot use is answered here with what to fix."""
    try:
        context = {"ids": compared_ids(ids), "error": None}
    except ValueError as error:
        context = {"ids": [], "error": f"{error}. Tick two to four entries on the leaderboard and press Compare."}
    return templates.TemplateResponse(request, "compare.html", context, status_code=400 if context["error"] else 200)


@router.get("/about/{slug}")
def document_page(request: Request, slug: str):
    """How ranks are computed and what the published methods are, from the repository's own documents."""
    rendered = document_html(slug)
    filename = DOCUMENTS.get(slug, f"{slug.removesuffix('.md')}.md")
    title, body = rendered if rendered else (filename, None)
    context = {"title": title, "body": body, "filename": filename}
    return templates.TemplateResponse(request, "document.html", context, status_code=200 if rendered else 404)


@router.get("/schema.js")
def schema_module() -> Response:
    """The metric and status names the pages' scripts read, from their Python definitions."""
    return Response(schema_script(), media_type="text/javascript")
