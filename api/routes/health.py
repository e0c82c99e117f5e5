"""/healthz (the process answers) and /readyz (the database and the broker answer too)."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import CeleryDep, SessionDep
from api.errors import DATABASE_RETRY_SECONDS, NotReady, error_responses
from api.schemas import Health, Readiness

router = APIRouter(tags=["health"])

BROKER_TIMEOUT = 2.0  # seconds: a readiness probe must answer quickly


@router.get("/healthz", operation_id="health", response_model=Health)
def health() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    operation_id="readiness",
    response_model=Readiness,
    responses=error_responses(503, bodies={503: NotReady}),
)
def readiness(session: SessionDep, celery: CeleryDep) -> Readiness | JSONResponse:
    checks = {
        "database": _probe(lambda: session.execute(text("SELECT 1"))),
        "broker": _probe(lambda: _ping(celery)),
    }
    failing = [name for name, state in checks.items() if state != "ok"]
    if failing:
        body = {"detail": f"not ready: {', '.join(failing)} unreachable", **checks}
        return JSONResponse(body, 503, headers={"Retry-After": str(DATABASE_RETRY_SECONDS)})
    return Readiness(status="ready", **checks)


def _ping(celery: CeleryDep) -> None:
    with celery.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT)


def _probe(check) -> str:
    try:
        check()
    except Exception as error:  # any failure means not ready; the kind is reported, not raised
        return f"error: {type(error).__name__}"
    return "ok"
