"""`poisonbench admin ...` and `worker` as processes on the embedded service (SQLite, no servers): what a shell
beside `make serve` sees, pipes included."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from db import queries
from db.session import session_scope
from harness.registry import Suite, trained_benchmark_names, transfer_benchmark_names
from settings import Settings
from worker.baselines import SERVICE_LOSSES

pytestmark = pytest.mark.slow

REPOSITORY = Path(__file__).parents[2]
WORKER_START_SECONDS = 180  # a Celery worker starts in seconds; two busy cores beside it may make it much slower


@pytest.fixture
def embedded(tmp_path: Path) -> dict[str, str]:
    """The environment of a shell with no settings beside `make serve`: the embedded database in ./var."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("POISONBENCH_")}
    environment["PYTHONPATH"] = str(REPOSITORY)
    assert poisonbench("admin", "db", "upgrade", env=environment, cwd=tmp_path).returncode == 0
    return environment


def poisonbench(*args: str, env: dict[str, str], cwd: Path, **options) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "cli.main", *args]
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, **options)


def test_a_quiet_participant_create_prints_the_token_alone_for_a_shell_to_capture(embedded, tmp_path):
    done = poisonbench("admin", "participant", "create", "ada", "--quiet", env=embedded, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    token = done.stdout.removesuffix("\n")
    assert token.startswith("pb_") and "\n" not in token
    with session_scope(f"sqlite:///{tmp_path / 'var' / 'poisonbench.sqlite3'}") as session:
        assert queries.participants.participant_by_token(session, token).display_name == "ada"


def test_bare_baselines_rerun_uses_the_suite_whose_baselines_the_database_holds(embedded, tmp_path):
    done = poisonbench("admin", "baselines", "rerun", env=embedded, cwd=tmp_path)
    assert done.returncode == 2 and "no baselines have been queued yet: pass --suite" in done.stderr
    assert poisonbench("admin", "baselines", "rerun", "--suite", "smoke", env=embedded, cwd=tmp_path).returncode == 0
    done = poisonbench("admin", "baselines", "rerun", env=embedded, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    benchmarks = len(trained_benchmark_names(Suite.SMOKE))
    runs = len(SERVICE_LOSSES) * benchmarks * Settings().trials(Suite.SMOKE)
    assert f"queued {runs} runs of the baselines and the published methods on the smoke suite" in done.stdout
    assert poisonbench("admin", "baselines", "rerun", "--suite", "proxy", env=embedded, cwd=tmp_path).returncode == 0
    done = poisonbench("admin", "baselines", "rerun", env=embedded, cwd=tmp_path)
    assert done.returncode == 2 and "baselines of several suites (proxy, smoke): pass --suite" in done.stderr


def test_a_submission_rerun_can_name_a_hidden_flip_benchmark_of_the_transfer_track(embedded, tmp_path):
    assert poisonbench("admin", "baselines", "rerun", "--suite", "smoke", env=embedded, cwd=tmp_path).returncode == 0
    hidden = transfer_benchmark_names(Suite.SMOKE)[0]
    done = poisonbench("admin", "submissions", "rerun", "1", "--benchmark", hidden, env=embedded, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    trials = Settings().trials(Suite.SMOKE)
    assert f"submission 1: {trials} runs queued again" in done.stdout
    with session_scope(f"sqlite:///{tmp_path / 'var' / 'poisonbench.sqlite3'}") as session:
        current = [run for run in queries.submissions.get_submission(session, 1).runs if run.benchmark == hidden]
        assert len(current) == trials and all(run.transfer for run in current)


def test_the_submission_list_has_a_header_and_a_reader_that_stops_early_gets_no_traceback(embedded, tmp_path):
    poisonbench("admin", "baselines", "rerun", "--suite", "smoke", env=embedded, cwd=tmp_path)
    listing = poisonbench("admin", "submissions", "list", env=embedded, cwd=tmp_path).stdout.splitlines()
    assert listing[0].split() == ["id", "status", "suite", "kind", "participant", "name"]
    losses = len(SERVICE_LOSSES)
    assert len(listing) == 1 + losses + 1 and listing[-1] == f"{losses} of {losses}"
    command = f"{sys.executable} -m cli.main admin submissions list | head -1"
    head = subprocess.run(command, shell=True, env=embedded, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert head.stdout.split() == ["id", "status", "suite", "kind", "participant", "name"]
    # However fast `head` is, the reader may also be gone before the first write: close it before it is made.
    listing = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "admin", "submissions", "list"],
        env=embedded,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    listing.stdout.close()
    assert listing.wait(300) == 141  # as a shell reports a process ended by SIGPIPE
    assert listing.stderr.read() == b""
    assert "Traceback" not in head.stderr and "BrokenPipeError" not in head.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="Celery warns only a worker started as root")
def test_a_worker_started_as_root_does_not_warn_of_superuser_privileges(embedded, tmp_path):
    log = tmp_path / "worker.log"
    with open(log, "wb") as output:
        worker = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "worker"],
            env={**embedded, "POISONBENCH_SUITE": "smoke"},
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + WORKER_START_SECONDS
        while " ready." not in log.read_text() and worker.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert " ready." in log.read_text(), log.read_text()
    finally:
        os.killpg(worker.pid, 9)
        worker.wait(60)
    assert "superuser privileges" not in log.read_text()
