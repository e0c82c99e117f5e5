"""/docs: the OpenAPI reference in Swagger UI, served from the vendored copy so that it works offline."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.pages.routes import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/docs")
def api_docs_page(request: Request):
    # FastAPI's own /docs loads Swagger UI from a CDN and starts it with an inline script; this page starts it
    # from js/api-docs.js, so the pages' Content-Security-Policy holds here too.
    return templates.TemplateResponse(request, "api_docs.html", {"openapi_url": request.app.openapi_url})
