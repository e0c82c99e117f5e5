"""The README's curl walk-through, run by bash as written against `poisonbench serve` on the embedded defaults
(SQLite, the broker that needs no server, a real worker), on the smoke suite."""

import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from db.models import Run, RunStatus
from db.session import session_scope
from harness.losses import loss_path
from harness.registry import BENCHMARKS, Suite, trained_benchmark_names
from worker.baselines import SERVICE_LOSSES

pytestmark = pytest.mark.slow

REPOSITORY = Path(__file__).parent.parent
SECTION = "## Submit a loss (curl walk-through)"
README_ADDRESS = "http://127.0.0.1:8000"  # what `make serve` listens on; the test's service has a free port
START_SECONDS = 300  # serve migrates, queues the baselines and imports FastAPI: seconds, more on two busy cores
STOP_SECONDS = 120  # serve lets its workers finish their run, then kills them after 30 s
STATUS = "@@readme-test status"


def walkthrough_commands() -> list[str]:
    """The section's shell commands, each as written (a backslash continues one onto the next line)."""
    section = (REPOSITORY / "README.md").read_text().split(SECTION, 1)[1].split("\n## ", 1)[0]
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL):
        continued = False
        for line in block.splitlines():
            if continued:
                commands[-1] += "\n" + line
            else:
                commands.append(line)
            continued = line.endswith("\\")
    return commands


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Path]]:
    """`poisonbench serve --suite smoke` with no settings, as `make serve` runs it (in a folder of its own: a
    `harness` symlink in its working directory would shadow the package for its sandbox), and a shell's folder
    laid out like the repository: the address, the shell's environment and the log of serve."""
    service, shell = tmp_path / "service", tmp_path / "shell"
    service.mkdir()
    shell.mkdir()
    for name in (".venv", "harness"):
        (shell / name).symlink_to(REPOSITORY / name)
    (shell / "var").symlink_to(service / "var")  # both find the embedded database in ./var, as in one folder
    environment = {name: value for name, value in os.environ.items() if not name.startswith("POISONBENCH_")}
    with socket.socket() as probe:  # a port nobody uses now; serve binds it a moment later
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "serve.log"
    with open(log, "wb") as output:
        serve = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--suite", Suite.SMOKE, "--port", str(port)],
            cwd=service,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    address = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(address, serve, log)
        yield address, environment, log
    finally:
        serve.send_signal(signal.SIGTERM)  # serve stops its workers, which run in sessions of their own
        try:
            serve.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()


def _wait_until_ready(address: str, serve: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert serve.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(f"{address}/readyz", timeout=10) as answer:
                if answer.status == 200:
                    return
        except OSError:  # not listening yet, or the broker or database not yet ready (503)
            time.sleep(1)
    raise AssertionError(f"serve was not ready after {START_SECONDS} s:\n{log.read_text()}")


def _json(output: str) -> dict:
    return json.loads(output)


def _expected_outputs(cwd: Path) -> dict[str, Callable[[str, dict], None]]:
    """For a distinctive part of each command, what its output must be; `seen` carries the submission id."""

    def token_captured(output: str, seen: dict) -> None:
        assert output == ""  # the token went into TOKEN; the authenticated commands below show it works

    def copied(output: str, seen: dict) -> None:
        assert (cwd / "my_loss.py").read_bytes() == loss_path("generalized_ce").read_bytes()

    def accepted(output: str, seen: dict) -> None:
        answer = _json(output)
        # A fresh service: the six service entries are submissions 1 to 6, so the README's example id is exact.
        assert answer["id"] == 7 and answer["status"] == "queued" and answer["url"].endswith("/api/submissions/7")
        seen["id"] = answer["id"]

    def id_exported(output: str, seen: dict) -> None:
        assert output == ""

    def detail(output: str, seen: dict) -> None:
        answer = _json(output)
        assert answer["id"] == seen["id"] and answer["status"] in ("queued", "running")
        every_benchmark = trained_benchmark_names(Suite.SMOKE)
        assert {run["benchmark"] for run in answer["runs"]} == set(every_benchmark)

    def listing(output: str, seen: dict) -> None:
        assert [submission["id"] for submission in _json(output)["data"]] == [seen["id"]]

    def cancelled(output: str, seen: dict) -> None:
        answer = _json(output)
        assert answer["id"] == seen["id"] and answer["status"] == "cancelled"

    def leaderboard(output: str, seen: dict) -> None:
        assert _json(output)["suite"] == Suite.SMOKE

    def leaderboard_csv(output: str, seen: dict) -> None:
        with open(cwd / "leaderboard.csv", newline="") as table:
            header = next(csv.reader(table))[:8]
            assert header == [
                "rank_best",
                "rank_worst",
                "provisional",
                "legacy",
                "name",
                "kind",
                "participant",
                "recorded",
            ]

    def benchmarks(output: str, seen: dict) -> None:
        assert _json(output)["count"] == len(BENCHMARKS)

    def health(output: str, seen: dict) -> None:
        live, ready = output.split("}", 1)
        assert _json(live + "}") == {"status": "ok"} and _json(ready)["database"] == "ok"

    return {
        "participant create": token_captured,
        "cp harness/losses/": copied,
        "curl -sS -X POST http://127.0.0.1:8000/api/submissions -H": accepted,
        "export ID=": id_exported,
        "curl -sS http://127.0.0.1:8000/api/submissions/$ID -H": detail,
        "curl -sS http://127.0.0.1:8000/api/submissions -H": listing,
        "/cancel -H": cancelled,
        "/api/leaderboard\n": leaderboard,
        "/api/leaderboard.csv": leaderboard_csv,
        "/api/benchmarks": benchmarks,
        "/healthz": health,
    }


def test_a_new_service_shows_every_baseline_and_published_method_at_its_first_answer(served, tmp_path):
    """The recorded results are installed before serve listens: the first board a new user sees is complete, and
    nothing of the service's is queued ahead of the user's first submission."""
    address, _, log = served
    with urllib.request.urlopen(f"{address}/api/leaderboard", timeout=30) as answer:
        entries = {entry["name"]: entry for entry in json.load(answer)["data"]}
    assert set(entries) == set(SERVICE_LOSSES)
    assert all(entry["recorded"] and not entry["provisional"] for entry in entries.values())
    assert "first start: the board shows the recorded results" in log.read_text()
    with session_scope(f"sqlite:///{tmp_path / 'service' / 'var' / 'poisonbench.sqlite3'}") as session:
        assert session.query(Run).filter(Run.status != RunStatus.SUCCEEDED).count() == 0


def test_the_readmes_walkthrough_runs_as_written_and_answers_what_it_says(request, tmp_path):
    commands = walkthrough_commands()
    shell = tmp_path / "shell"
    expected = _expected_outputs(shell)
    checks = []
    for command in commands:
        matching = [part for part in expected if part in command + "\n"]
        assert len(matching) == 1, f"no single check for the README's command {command!r}: {matching}"
        checks.append(expected[matching[0]])
    assert len(set(map(id, checks))) == len(expected), "a check that no command of the README uses"
    address, environment, log = request.getfixturevalue("served")  # started once the README and the checks agree
    # One bash, so that TOKEN and ID carry from command to command as in a terminal; a line after each one
    # reports its status (pipefail: a failed curl before `| tee` counts).
    reported = [f"{command}\nstatus=$?; echo; echo '{STATUS}' $status\n" for command in commands]
    script = "set -o pipefail\n" + "".join(reported).replace(README_ADDRESS, address)
    done = subprocess.run(
        ["bash", "-c", script], cwd=shell, env=environment, capture_output=True, text=True, timeout=600
    )
    outputs = done.stdout.split(f"{STATUS} ")
    assert len(outputs) == len(commands) + 1, done.stdout + done.stderr
    seen: dict = {}
    for index, (command, check) in enumerate(zip(commands, checks, strict=True)):
        output = outputs[index].split("\n", 1)[1] if index else outputs[0]  # after the previous status line
        status = int(outputs[index + 1].split("\n", 1)[0])
        assert status == 0, f"{command!r} exited with {status}:\n{output}\n{done.stderr}\n{log.read_text()}"
        try:
            check(output.strip(), seen)
        except (AssertionError, KeyError, ValueError):
            print(f"{command}\n{output}\nserve's log:\n{log.read_text()[-5000:]}")  # shown with the failure
            raise
    assert "Traceback" not in done.stderr, done.stderr
