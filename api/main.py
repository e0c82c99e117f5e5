"""The FastAPI application, built from the settings: `uvicorn --factory api.main:create_app`."""

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

import harness
from api.auth_rate_limit import AuthFailureLimiter
from api.body_limit import BodySizeLimit
from api.errors import UnexpectedErrors, install_error_handlers
from api.leaderboard_cache import LeaderboardCache
from api.multipart_framing import MultipartFraming
from api.pages import api_docs, install_pages
from api.routes import compare, health, leaderboard, submissions
from api.security_headers import SecurityHeaders
from api.validation import shared_check_pool
from db.session import session_factory
from runqueue.app import make_celery
from settings import Settings, get_settings

DESCRIPTION = """Upload a `RobustLoss` file; the service trains the suite's fixed models with it under
label-flip poisoning and ranks it by robust_score = (test_acc + 1 - poison_fit) / 2 beside the published
baselines. Send your token as `Authorization: Bearer <token>`."""
# The description's groups; each route names its own short operation_id, which generated clients call it by.
TAGS = [
    {"name": "submissions", "description": "upload a loss, follow its runs, cancel it (your token)"},
    {"name": "leaderboard", "description": "the ranked submissions, as JSON or CSV (no token)"},
    {"name": "benchmarks", "description": "the registry: what each suite trains (no token)"},
    {"name": "health", "description": "probes for orchestrators"},
]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    if settings.suite is None:
        raise RuntimeError("POISONBENCH_SUITE is not set; `poisonbench serve` chooses it, or set it yourself")
    # /docs is our own page on the vendored Swagger UI (api/pages/api_docs.py): FastAPI's loads it from a CDN.
    app = FastAPI(
        title="PoisonBench",
        version=harness.HARNESS_VERSION,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.celery = make_celery(settings)
    app.state.loss_checker = shared_check_pool(
        settings.check_pool_size, settings.check_timeout, settings.check_niceness
    )
    app.state.loss_checker.fill()  # the first upload meets a warm sandbox
    app.state.auth_failures = AuthFailureLimiter(settings.auth_failures_allowed, settings.auth_failure_window)
    app.state.leaderboard_cache = LeaderboardCache(
        session_factory(settings.sqlalchemy_url), settings.leaderboard_refresh_seconds
    )
    install_error_handlers(app)
    app.add_middleware(MultipartFraming)  # inside the size limit: a body over it is a 413 first
    app.add_middleware(BodySizeLimit, max_file_bytes=settings.max_file_bytes)
    if settings.cors_origins:  # closed unless origins are named
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(UnexpectedErrors)
    app.add_middleware(SecurityHeaders, hsts_max_age=settings.hsts_max_age)  # outermost: on every answer
    for module in (submissions, leaderboard, compare, health):
        app.include_router(module.router)
    install_pages(app)
    app.include_router(api_docs.router)
    return app
