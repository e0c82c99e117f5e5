"""Throwaway PostgreSQL and Redis servers of the fault tests' own, on spare ports, that a test may stop and start.

The shared fixtures (`service_settings`, `service_environment`, `start_worker`) are pointed at them by overriding
`committed_postgres_url`, `redis_url` and `redis_client`: stopping these servers harms no other test or process.
"""

import functools
import glob
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from db import queries
from db.migrate import upgrade
from db.models import Run, RunStatus, Submission, SubmissionStatus
from db.session import get_engine, session_scope
from harness.registry import Suite, trained_benchmark_names

PG_BIN = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])  # Debian's server binaries, the newest
POSTGRES_USER = "postgres"  # initdb and the server refuse to run as root
START_SECONDS = 60  # for a server to accept connections on a loaded machine


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until(
    condition: Callable[[], object], seconds: float, what: str, progress: Callable[[], object] = lambda: None
) -> object:
    """The condition's first true value, polled four times a second; fails once `progress()` has returned the
    same value for `seconds`: on a loaded machine the awaited work may be slow, but it must keep advancing."""
    last, deadline = progress(), time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.25)
        if (now := progress()) != last:
            last, deadline = now, time.monotonic() + seconds
    raise AssertionError(f"nothing advanced for {seconds:.0f} s while waiting for {what} (last: {last})")


def _cpu_ticks(processes: tuple[subprocess.Popen, ...]) -> int:
    """CPU time (clock ticks) used so far by every process of these processes' sessions (each is started in a
    session of its own): a worker still importing torch on a starved core advances it, a hung one does not."""
    sessions, total = {process.pid for process in processes}, 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after the command: state, ppid, pgrp, session...
        except OSError:  # the process ended while being read
            continue
        if int(fields[3]) in sessions:
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total


def _runs_state(settings, submission_id: int) -> object:
    """Every run of the submission as (id, status, epochs done, attempts); None while the database is down."""
    try:
        with session_scope(settings.sqlalchemy_url) as session:
            runs = session.scalars(select(Run).where(Run.submission_id == submission_id).order_by(Run.id))
            return [(run.id, run.status, run.epochs_done, run.attempts) for run in runs]
    except OperationalError:  # the database is the fault under test: no news
        return None


class PostgresServer:
    """A cluster in a temporary folder owned by the postgres user, on 127.0.0.1 only, fsync off."""

    def __init__(self, folder: Path, port: int):
        self.folder = folder
        self.port = port
        self.url = f"postgresql+psycopg://{POSTGRES_USER}@127.0.0.1:{port}/faults"

    def _as_postgres(self, *command: str) -> None:
        subprocess.run(["runuser", "-u", POSTGRES_USER, "--", *command], check=True, capture_output=True)

    def init(self) -> None:
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.folder / "data"), "-U", POSTGRES_USER, "-A", "trust")
        self.start()
        self._as_postgres(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "faults")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.folder} " + (
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"  # a throwaway cluster: speed
        )
        data, log = str(self.folder / "data"), str(self.folder / "server.log")
        wait = ["-w", "-t", str(START_SECONDS)]
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", data, "-l", log, "-o", options, *wait, "start")

    def stop(self) -> None:
        """Fast shutdown: every client connection is cut, as when the database server goes away."""
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")

    def running(self) -> bool:
        return (self.folder / "data" / "postmaster.pid").exists()


class RedisServer:
    """`redis-server` without persistence: a restart loses every message, as a broker that crashed does."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        _wait_until(lambda: _answers(client), START_SECONDS, "redis-server")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    folder = Path(tempfile.mkdtemp(prefix="poisonbench-faults-pg-"))
    shutil.chown(folder, POSTGRES_USER, POSTGRES_USER)
    server = PostgresServer(folder, _free_port())
    server.init()
    upgrade(server.url)
    yield server
    if server.running():
        server.stop()
    shutil.rmtree(folder)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(_free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def committed_postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The private cluster's database, running again and emptied after the test."""
    yield postgres_server.url
    if not postgres_server.running():
        postgres_server.start()
    get_engine(postgres_server.url).dispose()  # connections cut by a stop are not reused
    with get_engine(postgres_server.url).begin() as connection:
        connection.execute(text("TRUNCATE runs, submissions, participants RESTART IDENTITY CASCADE"))


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """The private broker, running and empty before and after the test."""
    if not redis_server.running():
        redis_server.start()
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    yield client
    if not redis_server.running():
        redis_server.start()
    client.flushdb()


class ApiServer:
    """`uvicorn api.main:create_app` on a socket bound here: a killed server's successor serves the same port,
    and connections made in between wait in the kernel's queue."""

    def __init__(self, service_processes, environment: dict[str, str]):
        self.processes = service_processes
        self.environment = environment
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.process: subprocess.Popen | None = None

    def start(self) -> subprocess.Popen:
        descriptor = str(self.listener.fileno())
        self.process = self.processes.start(
            "-m",
            "uvicorn",
            "--factory",
            "api.main:create_app",
            "--fd",
            descriptor,
            env=self.environment,
            pass_fds=(self.listener.fileno(),),
        )
        return self.process

    def kill(self) -> None:
        self.processes.kill(self.process)


@pytest.fixture
def api(service_environment, service_processes) -> Iterator[ApiServer]:
    """The API as a real process on `service_settings`, started; killed before its database is emptied."""
    server = ApiServer(service_processes, service_environment)
    server.start()
    yield server
    server.kill()
    server.listener.close()


@pytest.fixture
def token(service_settings) -> str:
    with session_scope(service_settings.sqlalchemy_url) as session:
        return queries.participants.create_participant(session, "ada")[1]


@pytest.fixture
def upload(api: ApiServer, token: str) -> Callable[[str, str], httpx.Response]:
    """POSTs a loss file to the API process, as `curl -F` would."""

    def post(code: str, name: str) -> httpx.Response:
        return httpx.post(
            f"{api.url}/api/submissions",
            headers={"Authorization": f"Bearer {token}"},
            files={"file": ("loss.py", code)},
            data={"name": name},
            timeout=120,
        )

    return post


def slow_loss(seconds_per_step: float, tag: str = "") -> str:
    """Cross-entropy that sleeps in every step, so a fault lands mid-run; `tag` makes the file unique."""
    return f"""import time

import torch.nn.functional as F


class RobustLoss:  # {tag}
    def compute_loss(self, logits, labels, epoch):
        time.sleep({seconds_per_step})
        return F.cross_entropy(logits, labels)
"""


@pytest.fixture
def slow_loss_file() -> Callable[..., str]:
    return slow_loss


@pytest.fixture
def database(service_settings) -> Callable[[str, dict], object]:
    """One scalar from the service's database; None while it cannot be reached (it may be stopped)."""

    def scalar(sql: str, parameters: dict | None = None) -> object:
        try:
            with get_engine(service_settings.sqlalchemy_url).connect() as connection:
                return connection.scalar(text(sql), parameters or {})
        except OperationalError:
            return None

    return scalar


@pytest.fixture
def wait_until() -> Callable[..., object]:
    return _wait_until


@pytest.fixture
def progress_of(service_settings) -> Callable[..., Callable[[], object]]:
    """What waiting on a submission counts as progress: its runs' states and the CPU time of the given processes
    (a worker starting up on a loaded machine moves no run yet, but works)."""

    def progress(submission_id: int | None, processes: tuple[subprocess.Popen, ...]) -> Callable[[], object]:
        def now() -> object:
            runs = None if submission_id is None else _runs_state(service_settings, submission_id)
            return runs, _cpu_ticks(processes)

        return now

    return progress


@pytest.fixture
def run_mid_training(database, progress_of) -> Callable[[int, tuple[subprocess.Popen, ...]], int]:
    """Waits until one of the submission's runs has trained an epoch and returns its id, failing when neither its
    runs nor the workers' CPU time have moved for 90 s."""

    def wait(submission_id: int, workers: tuple[subprocess.Popen, ...]) -> int:
        running = "SELECT id FROM runs WHERE submission_id = :s AND status = 'running' AND epochs_done >= 1"
        found = lambda: database(running, {"s": submission_id})  # noqa: E731
        return _wait_until(found, 90, "a run mid-training", progress=progress_of(submission_id, workers))

    return wait


@dataclass(frozen=True)
class MidTraining:
    """A slow submission with one of its runs mid-training, where a fault test strikes."""

    workers: tuple[subprocess.Popen, subprocess.Popen]  # the training worker, then the maintenance worker
    submission_id: int
    run_id: int  # the run found mid-training


@pytest.fixture
def slow_submission_mid_training(upload, start_worker, run_mid_training) -> Callable[..., MidTraining]:
    """Starts a worker (its output to `log`) and the maintenance worker, uploads cross-entropy that sleeps 0.5 s a
    step, and waits until one of its runs has trained an epoch."""

    def start(log: Path | None = None) -> MidTraining:
        workers = start_worker(log=log), start_worker("--maintenance")
        accepted = upload(slow_loss(0.5), "slow")
        assert accepted.status_code == 202, accepted.text
        submission_id = accepted.json()["id"]
        return MidTraining(workers, submission_id, run_mid_training(submission_id, workers))

    return start


def _assert_each_run_succeeded_once(trials: int, status: SubmissionStatus, runs: list[Run]) -> None:
    assert status is SubmissionStatus.SUCCEEDED
    benchmarks = trained_benchmark_names(Suite.SMOKE)
    expected = sorted((benchmark, trial) for benchmark in benchmarks for trial in range(1, trials + 1))
    assert sorted((run.benchmark, run.trial) for run in runs) == expected  # one row per run
    assert all(run.status is RunStatus.SUCCEEDED and run.result is not None for run in runs)


@pytest.fixture
def succeeded_once(service_settings) -> Callable[[SubmissionStatus, list[Run]], None]:
    """Asserts the outcome every fault must leave: the submission succeeded with one stored result per benchmark
    and trial."""
    return functools.partial(_assert_each_run_succeeded_once, service_settings.trials(Suite.SMOKE))


@pytest.fixture
def final_runs(service_settings) -> Callable[..., tuple[SubmissionStatus, list[Run]]]:
    """Waits until the submission has a final status, failing when none of its runs has advanced (a status, an
    epoch, an attempt) for `seconds`; returns the status and all the run rows, superseded ones too."""

    def wait(
        submission_id: int, seconds: float, processes: tuple[subprocess.Popen, ...] = ()
    ) -> tuple[SubmissionStatus, list[Run]]:
        def advanced() -> object:
            return _runs_state(service_settings, submission_id)

        def final() -> tuple[SubmissionStatus, list[Run]] | None:
            exited = [process.args for process in processes if process.poll() is not None]
            assert not exited, f"waiting for submission {submission_id}, these processes exited: {exited}"
            try:
                with session_scope(service_settings.sqlalchemy_url) as session:
                    submission = session.get(Submission, submission_id)
                    if submission.status in (SubmissionStatus.QUEUED, SubmissionStatus.RUNNING):
                        return None
                    runs = session.scalars(select(Run).where(Run.submission_id == submission_id).order_by(Run.id))
                    return submission.status, list(runs)
            except OperationalError:
                return None

        return _wait_until(final, seconds, f"submission {submission_id} to finish", progress=advanced)

    return wait
