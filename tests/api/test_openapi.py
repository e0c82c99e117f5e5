"""The OpenAPI description against the app: a valid document, stable operation ids, one upload body, and a
documented response, body and headers for every status each operation answers."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from httpx import Response
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from api.deps import get_loss_checker, get_optional_participant, get_participant, get_session
from api.intake import require_multipart_form
from api.leaderboard_cache import LeaderboardCache
from api.main import create_app
from api.routes import compare, health, leaderboard, submissions
from api.validation import CheckPool
from db import queries
from db.session import session_factory
from harness.registry import Suite
from settings import Settings
from tests.api.conftest import VALID_LOSS
from tests.conftest import Factory

OPERATION_IDS = {
    "create_submission",
    "list_submissions",
    "get_submission",
    "get_public_submission",
    "get_submission_code",
    "cancel_submission",
    "get_leaderboard",
    "get_leaderboard_csv",
    "compare_entries",
    "list_benchmarks",
    "health",
    "readiness",
}
# What a dependency can refuse with, wherever it is used (api/deps.py, api/intake.py, api/body_limit.py).
DEPENDENCY_REFUSALS: dict[Callable[..., Any], set[int]] = {
    get_participant: {401, 429},  # no token or a wrong one; too many wrong ones from one address
    get_optional_participant: {401, 429},  # a token that is sent must still be right
    require_multipart_form: {400, 413, 415, 422},  # unparseable, over the size, not a form, a field sent twice
    get_loss_checker: {409, 503},  # an upload: the same file again, or the sandbox's check unavailable
    get_session: {503},  # the database busy past its timeout, or unreachable
}
UNKNOWN_ID = 999_999
UNREACHABLE_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/poisonbench"  # nothing listens on port 1


@pytest.fixture(scope="module")
def spec() -> dict:
    return create_app(Settings(suite=Suite.SMOKE)).openapi()


def _operations(spec: dict) -> dict[str, dict]:
    return {
        operation["operationId"]: {**operation, "method": method, "path": path}
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    }


def _routes() -> list[APIRoute]:
    return [route for module in (submissions, leaderboard, compare, health) for route in module.router.routes]


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for dependency in dependant.dependencies:
        yield from _dependants(dependency)


def _statuses_it_can_refuse_with(route: APIRoute) -> set[int]:
    dependants = list(_dependants(route.dependant))
    statuses = {status for d in dependants for status in DEPENDENCY_REFUSALS.get(d.call, set())}
    if any(d.path_params or d.query_params or d.header_params or d.body_params for d in dependants):
        statuses.add(422)  # a malformed parameter or field
    if any(d.path_params for d in dependants):
        statuses.add(404)  # an id that is not there, or not the caller's
    return statuses


def test_the_description_is_a_valid_openapi_document(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.1")


def test_every_operation_has_its_short_stable_id_and_a_tag(spec):
    operations = _operations(spec)
    assert operations.keys() == OPERATION_IDS
    assert {route.operation_id for route in _routes()} == OPERATION_IDS  # the walk below sees every route
    assert all(operation["tags"] for operation in operations.values())


def test_the_upload_is_one_multipart_object_whose_file_is_binary(spec):
    body = spec["paths"]["/api/submissions"]["post"]["requestBody"]["content"]
    assert list(body) == ["multipart/form-data"]
    schema = spec["components"]["schemas"][body["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]]
    assert "allOf" not in schema and set(schema["required"]) == {"name", "file"}
    assert schema["properties"]["file"]["type"] == "string" and schema["properties"]["file"]["format"] == "binary"
    assert set(schema["properties"]) == {"name", "description", "link", "file"}


def test_the_public_progress_takes_a_token_but_needs_none(spec):
    security = spec["paths"]["/api/submissions/{submission_id}/public"]["get"]["security"]
    assert {} in security and {"HTTPBearer": []} in security


@pytest.mark.parametrize("route", _routes(), ids=lambda route: route.operation_id)
def test_every_operation_documents_each_refusal_its_parameters_and_dependencies_can_give(spec, route):
    documented = {int(status) for status in _operations(spec)[route.operation_id]["responses"]}
    assert _statuses_it_can_refuse_with(route) <= documented
    # FastAPI's own 422 body (a list under `detail`) is never what the handler writes (api/errors.py).
    assert "HTTPValidationError" not in spec["components"]["schemas"]


# ---------------------------------------------------------------- each documented status, answered for real


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"auth_failures_allowed": 2})


class Probe:
    """Requests against the app as a participant with one submission of their own to read and cancel."""

    def __init__(self, client: TestClient, auth: dict[str, str], own: int, settings: Settings, check, factory: Factory):
        self.client = client
        self.auth = auth
        self.own = own
        self.settings = settings
        self.check = check  # the app's sandbox check (tests/api/conftest.py)
        self.factory = factory  # rows in the app's session

    def wrong_token_until_blocked(self, method: str, url: str, **request: Any) -> Response:
        """The answer to a third wrong token: the app's settings allow two."""
        wrong = {"Authorization": "Bearer pb_not-a-token"}
        for _ in range(self.settings.auth_failures_allowed):
            assert self.client.request(method, url, headers=wrong, **request).status_code == 401
        return self.client.request(method, url, headers=wrong, **request)

    def upload(self, code: str | bytes = VALID_LOSS, headers: dict | None = None, **data: str) -> Response:
        files = {"file": ("mine.py", code)}
        headers = self.auth if headers is None else headers
        return self.client.post("/api/submissions", headers=headers, files=files, data={"name": "mine", **data})

    def own_url(self, suffix: str = "") -> str:
        return f"/api/submissions/{self.own}{suffix}"

    def database_down(self) -> "Probe":
        """From now on the app's sessions and its leaderboard cache connect to a database that is not there: the
        real driver meets a refused connection."""
        unreachable = session_factory(UNREACHABLE_DATABASE)
        self.client.app.dependency_overrides[get_session] = lambda: unreachable()
        self.client.app.state.leaderboard_cache = LeaderboardCache(unreachable, refresh_seconds=0)
        return self

    def compare_two_on_the_board(self) -> Response:
        finished = [self.factory.submission() for _ in range(2)]
        for submission in finished:
            self.factory.finish(submission)
        return self.client.get(f"/api/compare?ids={finished[0].id},{finished[1].id}")


def _unknown(suffix: str = "") -> str:
    return f"/api/submissions/{UNKNOWN_ID}{suffix}"


def _unavailable_check(p: Probe) -> Response:
    p.check.check = CheckPool(size=1, timeout=0.001, niceness=0)  # the real check, given no time to answer
    return p.upload()


def _duplicate(p: Probe) -> Response:
    assert p.upload().status_code == 202
    return p.upload(name="again")


def _cancel_twice(p: Probe) -> Response:
    assert p.client.post(p.own_url("/cancel"), headers=p.auth).status_code == 200
    return p.client.post(p.own_url("/cancel"), headers=p.auth)


PROBES: dict[tuple[str, int], Callable[..., Response]] = {
    ("create_submission", 202): lambda p: p.upload(),
    ("create_submission", 400): lambda p: p.client.post(
        "/api/submissions",
        headers={**p.auth, "Content-Type": "multipart/form-data; boundary=x"},
        content=b"--x\r\n732961--x--\r\n",  # a part without headers (found by tests/api/test_fuzz.py)
    ),
    ("create_submission", 401): lambda p: p.upload(headers={}),
    ("create_submission", 409): _duplicate,
    ("create_submission", 413): lambda p: p.upload(code="#" * (p.settings.max_file_bytes + 1)),
    ("create_submission", 415): lambda p: p.client.post("/api/submissions", headers=p.auth, json={"name": "x"}),
    ("create_submission", 422): lambda p: p.upload(link="javascript:alert(1)"),
    ("create_submission", 429): lambda p: p.wrong_token_until_blocked(
        "POST", "/api/submissions", files={"file": ("mine.py", VALID_LOSS)}, data={"name": "mine"}
    ),
    ("create_submission", 503): _unavailable_check,
    ("list_submissions", 200): lambda p: p.client.get("/api/submissions", headers=p.auth),
    ("list_submissions", 401): lambda p: p.client.get("/api/submissions"),
    ("list_submissions", 422): lambda p: p.client.get("/api/submissions?limit=0", headers=p.auth),
    ("list_submissions", 429): lambda p: p.wrong_token_until_blocked("GET", "/api/submissions"),
    ("get_submission", 200): lambda p: p.client.get(p.own_url(), headers=p.auth),
    ("get_submission", 401): lambda p: p.client.get(p.own_url()),
    ("get_submission", 404): lambda p: p.client.get(_unknown(), headers=p.auth),
    ("get_submission", 422): lambda p: p.client.get("/api/submissions/0", headers=p.auth),
    ("get_submission", 429): lambda p: p.wrong_token_until_blocked("GET", p.own_url()),
    ("get_public_submission", 200): lambda p: p.client.get(p.own_url("/public")),
    ("get_public_submission", 401): lambda p: p.client.get(p.own_url("/public"), headers={"Authorization": "Bearer x"}),
    ("get_public_submission", 404): lambda p: p.client.get(_unknown("/public")),
    ("get_public_submission", 422): lambda p: p.client.get("/api/submissions/x/public"),
    ("get_public_submission", 429): lambda p: p.wrong_token_until_blocked("GET", p.own_url("/public")),
    ("get_submission_code", 200): lambda p: p.client.get(p.own_url("/code"), headers=p.auth),
    ("get_submission_code", 401): lambda p: p.client.get(p.own_url("/code")),
    ("get_submission_code", 404): lambda p: p.client.get(_unknown("/code"), headers=p.auth),
    ("get_submission_code", 422): lambda p: p.client.get(f"/api/submissions/{2**31}/code", headers=p.auth),
    ("get_submission_code", 429): lambda p: p.wrong_token_until_blocked("GET", p.own_url("/code")),
    ("cancel_submission", 200): lambda p: p.client.post(p.own_url("/cancel"), headers=p.auth),
    ("cancel_submission", 401): lambda p: p.client.post(p.own_url("/cancel")),
    ("cancel_submission", 404): lambda p: p.client.post(_unknown("/cancel"), headers=p.auth),
    ("cancel_submission", 409): _cancel_twice,
    ("cancel_submission", 422): lambda p: p.client.post("/api/submissions/-1/cancel", headers=p.auth),
    ("cancel_submission", 429): lambda p: p.wrong_token_until_blocked("POST", p.own_url("/cancel")),
    ("get_leaderboard", 200): lambda p: p.client.get("/api/leaderboard"),
    ("get_leaderboard", 422): lambda p: p.client.get("/api/leaderboard?limit=0"),
    ("get_leaderboard_csv", 200): lambda p: p.client.get("/api/leaderboard.csv"),
    ("get_leaderboard_csv", 422): lambda p: p.client.get("/api/leaderboard.csv?suite=none"),
    ("compare_entries", 200): Probe.compare_two_on_the_board,
    ("compare_entries", 404): lambda p: p.client.get(f"/api/compare?ids={p.own},{UNKNOWN_ID}"),
    ("compare_entries", 422): lambda p: p.client.get("/api/compare?ids=1"),
    ("list_benchmarks", 200): lambda p: p.client.get("/api/benchmarks"),
    ("list_benchmarks", 422): lambda p: p.client.get("/api/benchmarks?suite=none"),
    ("health", 200): lambda p: p.client.get("/healthz"),
    ("readiness", 200): lambda p: p.client.get("/readyz"),
    # The database unreachable: the routes on a session, and the first read of a board the cache does not hold.
    ("list_submissions", 503): lambda p: p.database_down().client.get("/api/submissions", headers=p.auth),
    ("get_submission", 503): lambda p: p.database_down().client.get(p.own_url(), headers=p.auth),
    ("get_public_submission", 503): lambda p: p.database_down().client.get(p.own_url("/public")),
    ("get_submission_code", 503): lambda p: p.database_down().client.get(p.own_url("/code"), headers=p.auth),
    ("cancel_submission", 503): lambda p: p.database_down().client.post(p.own_url("/cancel"), headers=p.auth),
    ("get_leaderboard", 503): lambda p: p.database_down().client.get("/api/leaderboard"),
    ("get_leaderboard_csv", 503): lambda p: p.database_down().client.get("/api/leaderboard.csv"),
    ("compare_entries", 503): lambda p: p.database_down().client.get("/api/compare?ids=1,2"),
}


def test_every_documented_status_has_a_probe_below(spec):
    documented = {
        (operation_id, int(status))
        for operation_id, operation in _operations(spec).items()
        for status in operation["responses"]
    }
    # /readyz's 503 needs a broker that is down: test_readiness_names_the_part_that_is_down.
    assert documented - PROBES.keys() == {("readiness", 503)}


def _assert_documented(spec: dict, operation_id: str, response: Response) -> None:
    """The status is documented for the operation; the body matches its schema; its headers are sent."""
    documented = _operations(spec)[operation_id]["responses"]
    assert str(response.status_code) in documented, (operation_id, response.status_code, response.text)
    answer = documented[str(response.status_code)]
    content_type = response.headers["content-type"].split(";")[0]
    schema = answer["content"][content_type]["schema"]
    body = response.json() if content_type == "application/json" else response.text
    Draft202012Validator({**schema, "components": spec["components"]}).validate(body)
    for header in answer.get("headers", {}):
        assert header.lower() in response.headers, (operation_id, header, response.headers)


@pytest.mark.parametrize(("operation_id", "status"), list(PROBES), ids=lambda value: str(value))
def test_each_status_an_operation_answers_is_documented_with_its_body_and_headers(
    spec, client, session, token, auth, factory, settings, check, operation_id, status
):
    own = factory.submission(participant=queries.participants.participant_by_token(session, token))
    response = PROBES[operation_id, status](Probe(client, auth, own.id, settings, check, factory))
    assert response.status_code == status, response.text
    _assert_documented(spec, operation_id, response)


def test_readiness_names_the_part_that_is_down(spec, settings, redis_client):
    down = settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"})  # nothing listens on port 1
    with TestClient(create_app(down)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["broker"].startswith("error")
    _assert_documented(spec, "readiness", response)
