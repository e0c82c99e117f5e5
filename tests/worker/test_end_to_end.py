"""The whole service with real parts: HTTP upload -> sandbox validation -> broker -> Celery worker
processes -> the sandboxed smoke suite -> run rows -> the leaderboard; on PostgreSQL + Redis, and embedded."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.main import create_app
from db import queries
from db.models import Run, Submission, SubmissionKind
from db.session import session_scope
from harness.losses import BASELINES, loss_path
from harness.poisoning import benchmark_flip
from harness.registry import Suite, get_benchmark, trained_benchmark_names, transfer_benchmark_names
from harness.seeds import Stream, stream_seed
from scoring.plan import suite_plan
from scoring.trials import trial_seeds
from worker.baselines import PUBLISHED_METHODS, queue_baselines

pytest.importorskip("sandbox.proxy", reason="the sandbox is not there yet")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
RUN_WAIT = 700  # seconds for a submission's smoke trials (2 x 3 runs) on two busy cores



def test_a_worker_runs_below_the_apis_cpu_priority(start_worker, service_settings):
    """Its pool and sandboxed loss processes inherit SCHED_IDLE, so training takes only the CPU the API leaves."""
    assert service_settings.idle_background_work
    worker = start_worker()
    deadline = time.monotonic() + 60
    while os.sched_getscheduler(worker.pid) != os.SCHED_IDLE and time.monotonic() < deadline and worker.poll() is None:
        time.sleep(0.2)
    assert os.sched_getscheduler(worker.pid) == os.SCHED_IDLE


@pytest.fixture
def client(service_settings) -> Iterator[TestClient]:
    with TestClient(create_app(service_settings)) as client:  # the real sandbox check, the real database
        yield client


@pytest.fixture
def auth(service_settings) -> dict[str, str]:
    with session_scope(service_settings.sqlalchemy_url) as session:
        return {"Authorization": f"Bearer {queries.participants.create_participant(session, 'ada')[1]}"}


def _wait_until(
    condition: Callable[[], object], seconds: float, what: str, processes: Sequence[subprocess.Popen] = ()
) -> object:
    """The condition's first true value; fails at once if one of the service's processes has exited."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        exited = [process.args for process in processes if process.poll() is not None]
        assert not exited, f"waiting for {what}, these processes exited: {exited}"
        time.sleep(0.25)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


def _finished(get: Callable[[str], httpx.Response], url: str) -> Callable[[], dict | None]:
    def check() -> dict | None:
        body = get(url).json()
        return body if body["status"] not in ("queued", "running") else None

    return check


def test_an_upload_is_validated_queued_trained_in_the_sandbox_and_ranked_beside_the_baselines(
    service_settings, client, auth, start_worker, factory_for
):
    # The baselines' results are written directly: training them is the very code path the upload below
    # takes, and twelve more sandboxed runs would only make this test four times slower.
    with session_scope(service_settings.sqlalchemy_url) as session:
        queue_baselines(session, suite_plan(service_settings, Suite.SMOKE))
        for service_loss in session.scalars(select(Submission).where(Submission.kind != SubmissionKind.SUBMISSION)):
            factory_for(session).finish(service_loss, robust_score=0.5)
    workers = [start_worker(), start_worker("--maintenance")]
    code = loss_path("generalized_ce").read_text() + "\n# mine\n"
    accepted = client.post(
        "/api/submissions", headers=auth, files={"file": ("loss.py", code)}, data={"name": "gce again"}
    )
    assert accepted.status_code == 202, accepted.text
    url = accepted.json()["url"]
    detail = _wait_until(_finished(lambda u: client.get(u, headers=auth), url), RUN_WAIT, "the submission", workers)
    assert detail["status"] == "succeeded", detail
    trials = service_settings.trials(Suite.SMOKE)
    every_benchmark = trained_benchmark_names(Suite.SMOKE)  # the transfer track's too
    assert sorted((run["benchmark"], run["trial"]) for run in detail["runs"]) == sorted(
        (benchmark, trial) for benchmark in every_benchmark for trial in range(1, trials + 1)
    )
    assert all(run["metrics"]["robust_score"] > 0 and run["epochs_done"] == 2 for run in detail["runs"])
    board = client.get("/api/leaderboard").json()
    kinds = sorted(entry["kind"] for entry in board["data"])
    assert kinds == ["baseline"] * 4 + ["published"] * 2 + ["submission"]
    mine = next(entry for entry in board["data"] if entry["kind"] == "submission")
    assert mine["submission_id"] == accepted.json()["id"]
    assert set(mine["benchmarks"]) == set(every_benchmark)  # the hidden-flip benchmarks' scores too
    assert mine["trials_complete"] == mine["headline"]["n"] == trials and not mine["provisional"]
    assert mine["transfer"]["n"] == trials and not mine["transfer_provisional"]
    assert 1 <= mine["rank_best"] <= mine["rank_worst"] <= 7 and 1 <= mine["transfer_rank_best"] <= 7
    public = client.get(f"{url}/public").json()
    assert {c["against_kind"] for c in public["comparisons"]} == {"baseline", "published"}
    # The secret poison seeds the worker trained with appear in no output and in no stored column
    outputs = [client.get(path).text for path in ("/api/leaderboard", "/api/leaderboard.csv", f"{url}/public")]
    outputs.append(client.get(url, headers=auth).text)
    with session_scope(service_settings.sqlalchemy_url) as session:
        outputs += [str(row) for row in session.execute(select(Run.__table__)).all()]
    for trial in range(1, trials + 1):
        seeds = trial_seeds(service_settings.master_seed, Suite.SMOKE, trial)
        assert any(str(seeds.training_seed) in output for output in outputs)  # the public training seed is there
        assert not any(str(seeds.poison_seed) in output for output in outputs), trial


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_embedded_default_serves_the_same_flow_with_no_server_at_all(tmp_path, service_processes):
    env = {k: v for k, v in os.environ.items() if not k.startswith("POISONBENCH_")}
    env["POISONBENCH_SUITE"] = Suite.SMOKE  # the embedded default would choose proxy on a CPU: minutes
    env["POISONBENCH_CHECK_TIMEOUT"] = "300"  # the upload's sandbox check took over 60 s on 2 cores at load 25

    def admin(*args: str) -> str:
        command = [sys.executable, "-m", "cli.main", "admin", *args]
        return subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, check=True).stdout

    port = _free_port()
    log = tmp_path / "serve.log"
    server = service_processes.start("-m", "cli.main", "serve", "--port", str(port), env=env, log=log)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until(lambda: _ready(base), 120, "the server", [server])
        assert (tmp_path / "var" / "poisonbench.sqlite3").exists()
        first_start = admin("submissions", "list")
        # On the board from first start, from the shipped recorded results: nothing queued ahead of the upload.
        assert first_start.count(" baseline ") == len(BASELINES)
        assert first_start.count(" published ") == len(PUBLISHED_METHODS)
        assert first_start.count(" succeeded ") == len(BASELINES) + len(PUBLISHED_METHODS)
        auth = {"Authorization": f"Bearer {admin('participant', 'create', 'ada').split()[-1]}"}
        code = loss_path("symmetric_ce").read_text() + "\n# mine\n"
        accepted = httpx.post(
            f"{base}/api/submissions",
            headers=auth,
            files={"file": ("loss.py", code)},
            data={"name": "sce"},
            timeout=120,
        )
        assert accepted.status_code == 202, accepted.text
        assert (tmp_path / "var" / "broker.sqlite3").exists()  # the embedded broker: its run messages
        get = lambda url: httpx.get(url, headers=auth, timeout=30)  # noqa: E731
        detail = _wait_until(_finished(get, accepted.json()["url"]), RUN_WAIT, "the submission", [server])
        assert detail["status"] == "succeeded", detail
        # The board is cached for POISONBENCH_LEADERBOARD_REFRESH_SECONDS: the last trial shows within it
        def final() -> dict:
            board = httpx.get(f"{base}/api/leaderboard", timeout=30).json()["data"]
            return next((e for e in board if e["submission_id"] == accepted.json()["id"]), {})

        entry = _wait_until(lambda: (e := final()).get("trials_complete") == 2 and e, 60, "the last trial", [server])
        assert not entry["provisional"] and not entry["recorded"]
        board = httpx.get(f"{base}/api/leaderboard", timeout=30).json()
        assert len(board["data"]) == 1 + len(BASELINES) + len(PUBLISHED_METHODS)
        url = accepted.json()["url"]
        paths = (f"{base}/api/leaderboard", f"{base}/api/leaderboard.csv", f"{url}/public", url)
        outputs = [get(path).text for path in paths] + [log.read_text()]
        assert {run["benchmark"] for run in detail["runs"] if run["status"] == "succeeded"} >= set(
            transfer_benchmark_names(Suite.SMOKE)
        )
        for trial in (1, 2):  # the development master seed, 42
            poison_seed = trial_seeds(42, Suite.SMOKE, trial).poison_seed
            secrets = [str(poison_seed)]
            for name in transfer_benchmark_names(Suite.SMOKE):  # the hidden flip, in any way it might be printed
                benchmark = get_benchmark(name, Suite.SMOKE)
                flip = benchmark_flip(benchmark, poison_seed)
                secrets += [str(stream_seed(poison_seed, Stream.FLIP, benchmark.key))]
                secrets += [str(flip), str(list(flip)), ",".join(map(str, flip)), " ".join(map(str, flip))]
            assert not [secret for secret in secrets if any(secret in output for output in outputs)]
    finally:
        service_processes.kill(server, signal.SIGTERM)


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False
