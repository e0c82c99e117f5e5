"""A Python client generated from the running service's /openapi.json does everything curl does, typed.

openapi-python-client writes the client from the description alone; it then drives the whole participant path
against `poisonbench serve` on the embedded default (SQLite, embedded broker, a real worker, the smoke suite).
A status the description does not document raises in the client (`raise_on_unexpected_status`).
"""

import csv
import dataclasses
import importlib
import inspect
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType, SimpleNamespace

import httpx
import pytest

from api.main import create_app
from harness.contract import MAX_FILE_BYTES
from harness.losses import loss_path
from harness.registry import Suite, benchmark_names
from harness.result import EpochRecord
from settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

PACKAGE = "poisonbench_client"
TRAINING_SECONDS = 900  # one smoke submission, trained under SCHED_IDLE beside whatever else the machine runs
SYNTAX_ERROR = "class RobustLoss:\n    def compute_loss(self, logits, labels, epoch)\n"
NO_ROBUST_LOSS = "import torch\n\n\nclass Loss:\n    pass\n"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until(condition: Callable[[], object], seconds: float, what: str, server: subprocess.Popen) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        assert server.poll() is None, f"`poisonbench serve` exited while waiting for {what}"
        time.sleep(0.5)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def embedded_service(tmp_path: Path, service_processes) -> Iterator[SimpleNamespace]:
    """`poisonbench serve` with no configuration but the smoke suite: its own entries come from the recorded
    results, so nothing is queued ahead of the participant's uploads."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("POISONBENCH_")}
    env["POISONBENCH_SUITE"] = Suite.SMOKE  # the embedded default would choose proxy on a CPU: minutes

    def admin(*args: str) -> str:
        command = [sys.executable, "-m", "cli.main", "admin", *args]
        return subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, check=True).stdout

    port = _free_port()
    server = service_processes.start("-m", "cli.main", "serve", "--port", str(port), env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until(lambda: _ready(base), 120, "the server", server)
        token = admin("participant", "create", "ada").split()[-1]
        yield SimpleNamespace(base=base, token=token, server=server)
    finally:
        service_processes.kill(server, signal.SIGTERM)  # `serve` stops its workers on the way out


@contextmanager
def _generated_client(spec: bytes, folder: Path) -> Iterator[ModuleType]:
    """The client openapi-python-client writes from `spec`, imported from `folder`; warnings fail the test."""
    (folder / "openapi.json").write_bytes(spec)
    (folder / "config.yaml").write_text("post_hooks: []\n")  # no formatter runs on the generated code
    generated = subprocess.run(
        [
            *(sys.executable, "-m", "openapi_python_client", "generate"),
            *("--path", str(folder / "openapi.json"), "--config", str(folder / "config.yaml")),
            *("--meta", "none", "--output-path", str(folder / PACKAGE)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = generated.stdout + generated.stderr
    # A warning means part of the description was skipped, as the upload body once was.
    assert generated.returncode == 0 and "Warning" not in output, output
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


@pytest.fixture
def generated(embedded_service, tmp_path: Path) -> Iterator[SimpleNamespace]:
    """The generated package's client, models and one module per operation, by its operation id."""
    spec = httpx.get(f"{embedded_service.base}/openapi.json", timeout=30).content
    folder = tmp_path / "generated"
    folder.mkdir()
    with _generated_client(spec, folder) as package:
        yield _client_parts(package)


def _client_parts(package: ModuleType) -> SimpleNamespace:
    """The generated package's client, models and one module per operation, by its operation id."""
    operations = {
        name: importlib.import_module(f"{PACKAGE}.api.{tag}.{name}")
        for tag, names in {
            "submissions": (
                "create_submission",
                "get_submission",
                "list_submissions",
                "cancel_submission",
                "get_submission_code",
                "get_public_submission",
            ),
            "leaderboard": ("get_leaderboard", "get_leaderboard_csv", "compare_entries"),
            "benchmarks": ("list_benchmarks",),
            "health": ("health", "readiness"),
        }.items()
        for name in names
    }
    return SimpleNamespace(
        client=package.Client,
        authenticated=package.AuthenticatedClient,
        models=importlib.import_module(f"{PACKAGE}.models"),
        types=importlib.import_module(f"{PACKAGE}.types"),
        file=importlib.import_module(f"{PACKAGE}.types").File,
        **operations,
    )


def _untyped_objects(schema: object, where: str = "") -> Iterator[str]:
    """Where `schema` has an object or array whose contents it does not type."""
    if isinstance(schema, dict):
        if schema.get("type") == "object" and "properties" not in schema and not schema.get("additionalProperties"):
            yield where
        if schema.get("type") == "array" and not schema.get("items"):
            yield where
        for key, value in schema.items():
            yield from _untyped_objects(value, f"{where}/{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _untyped_objects(value, f"{where}/{index}")


def test_the_description_types_every_field_and_requires_no_optional_one(tmp_path: Path):
    spec = create_app(Settings(suite=Suite.SMOKE)).openapi()
    assert list(_untyped_objects(spec)) == []
    bodies = [
        spec["components"]["schemas"][content["schema"]["$ref"].rsplit("/", 1)[1]]
        for methods in spec["paths"].values()
        for operation in methods.values()
        for content in operation.get("requestBody", {}).get("content", {}).values()
    ]
    assert bodies
    # A default makes generators such as openapi-typescript type the field as always present: required to send.
    defaults = [
        (body["title"], name)
        for body in bodies
        for name, field in body["properties"].items()
        if name not in body.get("required", []) and "default" in field
    ]
    assert defaults == []

    with _generated_client(json.dumps(spec).encode(), tmp_path) as package:
        generated = _client_parts(package)
        upload_fields = inspect.signature(generated.models.SubmissionCreate).parameters
        assert upload_fields["description"].default is generated.types.UNSET
        assert upload_fields["link"].default is generated.types.UNSET
        compared = inspect.signature(generated.compare_entries.sync).parameters["ids"]
        assert compared.annotation == list[int] | generated.types.Unset
        assert generated.models.RunProgressPublic.__annotations__["curve"] == "list[EpochRecord]"
        epoch_fields = set(inspect.signature(generated.models.EpochRecord).parameters) - {"additional_properties"}
        assert epoch_fields == {field.name for field in dataclasses.fields(EpochRecord)}


def test_a_client_generated_from_the_description_drives_the_whole_participant_path(embedded_service, generated):
    models = generated.models
    options = {"base_url": embedded_service.base, "raise_on_unexpected_status": True, "timeout": httpx.Timeout(120)}
    ada = generated.authenticated(token=embedded_service.token, **options)
    anyone = generated.client(**options)

    def upload(code: str, filename: str = "gce_again.py", **fields: str):
        body = models.SubmissionCreate(
            name=fields.pop("name", "gce again"),
            file=generated.file(payload=io.BytesIO(code.encode()), file_name=filename, mime_type="text/x-python"),
            **fields,
        )
        return generated.create_submission.sync_detailed(client=ada, body=body)

    assert isinstance(generated.health.sync(client=anyone), models.Health)
    readiness = generated.readiness.sync(client=anyone)
    assert isinstance(readiness, models.Readiness) and readiness.database == readiness.broker == "ok"
    benchmarks = generated.list_benchmarks.sync(client=anyone, suite=models.Suite.SMOKE)
    assert isinstance(benchmarks, models.PageBenchmarkPublic)
    assert [benchmark.name for benchmark in benchmarks.data] == benchmark_names(Suite.SMOKE)

    code = loss_path("generalized_ce").read_text() + "\n# mine\n"
    accepted = upload(code, description="GCE, once more", link="https://arxiv.org/abs/1805.07836")
    assert accepted.status_code == 202 and isinstance(accepted.parsed, models.SubmissionAccepted)
    assert accepted.headers["location"] == accepted.parsed.url
    mine = accepted.parsed.id

    # A second one, cancelled while the worker trains the first.
    second = upload(code + "# a second\n", name="to cancel").parsed
    cancelled = generated.cancel_submission.sync(second.id, client=ada)
    assert isinstance(cancelled, models.SubmissionDetail) and cancelled.status == models.SubmissionStatus.CANCELLED
    again = generated.cancel_submission.sync(second.id, client=ada)
    assert isinstance(again, models.ErrorBody) and "nothing to cancel" in again.detail

    duplicate = upload(code, name="the same again").parsed
    assert isinstance(duplicate, models.DuplicateSubmission) and duplicate.existing_submission_id == mine
    syntax_error = upload(SYNTAX_ERROR, filename="broken.py").parsed
    assert isinstance(syntax_error, models.InvalidRequest)
    assert syntax_error.detail.startswith("broken.py, line 2: syntax error")
    no_robust_loss = upload(NO_ROBUST_LOSS).parsed
    assert isinstance(no_robust_loss, models.InvalidRequest) and "RobustLoss" in no_robust_loss.detail
    bad_link = upload(code + "# linked\n", link="ftp://example.org/paper.pdf").parsed
    assert isinstance(bad_link, models.InvalidRequest)
    assert [problem.field for problem in bad_link.errors] == ["body.link"]
    oversize = upload("#" * (MAX_FILE_BYTES + 1))
    assert oversize.status_code == 413 and isinstance(oversize.parsed, models.ErrorBody)
    wrong_token = generated.authenticated(token="pb_not-a-token", **options)
    refused = generated.list_submissions.sync_detailed(client=wrong_token)
    assert refused.status_code == 401 and isinstance(refused.parsed, models.ErrorBody)
    assert refused.headers["www-authenticate"] == "Bearer"
    unknown = generated.get_submission.sync_detailed(999_999, client=ada)
    assert unknown.status_code == 404 and isinstance(unknown.parsed, models.ErrorBody)

    def finished():
        detail = generated.get_submission.sync(mine, client=ada)
        assert isinstance(detail, models.SubmissionDetail)
        return detail if detail.status not in ("queued", "running") else None

    detail = _wait_until(finished, TRAINING_SECONDS, "the submission's runs", embedded_service.server)
    assert detail.status == models.SubmissionStatus.SUCCEEDED, detail
    assert detail.link == "https://arxiv.org/abs/1805.07836" and detail.description == "GCE, once more"
    assert all(run.metrics.robust_score > 0 for run in detail.runs)
    assert all(isinstance(point, models.EpochRecord) for run in detail.runs for point in run.curve)

    listed = generated.list_submissions.sync(client=ada, status=models.SubmissionStatus.SUCCEEDED)
    assert isinstance(listed, models.PageSubmissionPublic) and [s.id for s in listed.data] == [mine]
    code_back = generated.get_submission_code.sync(mine, client=ada)
    assert isinstance(code_back, models.SubmissionCode) and code_back.code == code
    public = generated.get_public_submission.sync(mine, client=anyone)
    assert isinstance(public, models.SubmissionProgressPublic) and public.participant == "ada"

    board = generated.get_leaderboard.sync(client=anyone)
    assert isinstance(board, models.LeaderboardPublic)
    entries = {entry.submission_id: entry for entry in board.data}
    assert entries[mine].link == detail.link and not entries[mine].recorded
    assert all(isinstance(entry, models.LeaderboardEntryPublic) for entry in board.data)
    assert all(entry.recorded for submission_id, entry in entries.items() if submission_id != mine)
    other = next(submission_id for submission_id in entries if submission_id != mine)
    compared = generated.compare_entries.sync(client=anyone, ids=[mine, other])
    assert isinstance(compared, models.ComparePublic)
    assert [entry.submission_id for entry in compared.data] == [mine, other]
    table = generated.get_leaderboard_csv.sync(client=anyone)
    assert isinstance(table, str)
    rows = {row[4]: row for row in csv.reader(io.StringIO(table))}
    assert rows["gce again"][2:9] == ["False", "False", "gce again", "submission", "ada", "False", "2"], table
