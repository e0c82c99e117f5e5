"""The HTML pages: server-side templates over the JSON API's own functions, and the vendored static assets."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.pages.routes import router

STATIC_DIR = Path(__file__).parent.parent / "static"


def install_pages(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(router)
