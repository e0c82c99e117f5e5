"""Options and fixtures shared by every test folder: the service's databases, broker, row factories and
processes."""

import dataclasses
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import psycopg
import pytest
import redis
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

import harness
from db import queries
from db.migrate import upgrade
from db.models import Participant, RunStatus, Submission, SubmissionKind
from db.session import get_engine
from harness.plan import SuitePlan
from harness.registry import Suite, benchmarks_in
from harness.result import EpochRecord, Metrics, RunResult
from scoring.leaderboard import LeaderboardEntry, group_by_submission, rank_entries
from scoring.plan import suite_plan
from settings import Settings

# The servers CI and every developer machine run (docs/service.md, "Tests"): trust auth, no password.
POSTGRES_ADMIN_URL = os.environ.get("POISONBENCH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_SERVER = os.environ.get("POISONBENCH_TEST_REDIS", "redis://127.0.0.1:6379")
# The databases a test run may claim: 0 is every service's default, 14 benchmarks/load.py's, 15 what tests used
# before they claimed one of their own.
TEST_REDIS_DATABASES = range(1, 14)
REDIS_CLAIM = "poisonbench-test-run"  # in a claimed database: the pid of the test run it belongs to
TEST_DATABASE = "poisonbench_test"
MASTER_SEED = 42  # the development default of settings.master_seed, which every test's Settings keeps
COMMITTED_DATABASE = "poisonbench_worker_test"


def pytest_addoption(parser):
    parser.addoption(
        "--accept-golden",
        action="store_true",
        help="rewrite golden files from the current code (review the diff)",
    )


def _admin_execute(*statements: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        for statement in statements:
            admin.execute(statement)


@pytest.fixture(scope="session")
def migrated_database() -> Iterator[Callable[[str], str]]:
    """Creates a PostgreSQL database migrated to head (so the migrations run every time); returns its URL.

    The name carries the process id, so two test sessions on one machine never drop each other's database.
    Every database created is dropped when the session ends.
    """
    created: list[str] = []

    def create(name: str) -> str:
        name = f"{name}_{os.getpid()}"
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
        created.append(name)
        host_part = POSTGRES_ADMIN_URL.removeprefix("postgresql://").rsplit("/", 1)[0]
        url = f"postgresql+psycopg://{host_part}/{name}"
        upgrade(url)
        return url

    yield create
    for name in created:
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url(migrated_database) -> str:
    return migrated_database(TEST_DATABASE)


@pytest.fixture
def session(postgres_url: str) -> Iterator[Session]:
    """A session inside a transaction rolled back after the test; the code's own commits become savepoints."""
    engine: Engine = get_engine(postgres_url)
    with engine.connect() as connection:
        transaction = connection.begin()
        with Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False) as s:
            yield s
        transaction.rollback()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis database of this test run's own: the first one that is empty or whose claim names a process no
    longer alive, claimed under this process's pid, so two runs on one machine never read or clear each other's
    messages. Emptied when the run ends."""
    for number in TEST_REDIS_DATABASES:
        url = f"{REDIS_SERVER}/{number}"
        client = redis.Redis.from_url(url)
        owner = client.get(REDIS_CLAIM)
        if owner is None and client.dbsize() == 0 and client.set(REDIS_CLAIM, os.getpid(), nx=True):
            break
        if owner is not None and not _alive(int(owner)) and client.getset(REDIS_CLAIM, os.getpid()) == owner:
            _empty(client)
            break
    else:
        raise RuntimeError(f"no free Redis database for the tests among {REDIS_SERVER}/1 to /13")
    yield url
    client.flushdb()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _empty(client: redis.Redis) -> None:
    """Every key of the claimed database but the claim, in one transaction: no other run can take it meanwhile."""
    pipeline = client.pipeline(transaction=True)
    pipeline.flushdb()
    pipeline.set(REDIS_CLAIM, os.getpid())
    pipeline.execute()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    _empty(client)
    yield client
    _empty(client)


@pytest.fixture
def settings(tmp_path: Path, postgres_url: str, redis_url: str) -> Settings:
    """The service on the test PostgreSQL and Redis, running the smoke suite."""
    return Settings(
        suite=Suite.SMOKE,
        database_url=postgres_url,
        broker_url=redis_url,
        data_root=tmp_path / "var",
        submissions_per_day=3,
    )


class Factory:
    """Rows for tests, with defaults a test overrides only where it matters."""

    def __init__(self, session: Session):
        self.session = session
        self.count = 0

    def participant(self, name: str | None = None, is_admin: bool = False) -> tuple[Participant, str]:
        self.count += 1
        return queries.participants.create_participant(self.session, name or f"participant-{self.count}", is_admin)

    def submission(
        self,
        participant: Participant | None = None,
        code: str | None = None,
        suite: Suite = Suite.SMOKE,
        kind: SubmissionKind = SubmissionKind.SUBMISSION,
        trials: int = 1,
        transfer: bool = False,
    ) -> Submission:
        self.count += 1
        participant = participant or self.participant()[0]
        code = code or f"class RobustLoss:  # {self.count}\n    pass\n"
        return queries.submissions.create_submission(
            self.session,
            participant,
            plan=self.plan(trials, suite, transfer),
            name=f"submission-{self.count}",
            code=code,
            sha256=f"{self.count:064x}",
            kind=kind,
        )

    @staticmethod
    def plan(trials: int = 1, suite: Suite = Suite.SMOKE, transfer: bool = False) -> SuitePlan:
        """The suite's plan as the service builds it with `trials` trials from the development master seed; its
        transfer track only when asked for, so a test counts the announced runs alone unless it says otherwise."""
        plan = suite_plan(Settings(master_seed=MASTER_SEED, **{f"trials_{suite}": trials}), suite)
        return plan if transfer else dataclasses.replace(plan, transfer_benchmarks=())

    def board(self, trials: int = 1, suite: Suite = Suite.SMOKE) -> list[LeaderboardEntry]:
        """The suite's board as the API ranks it: the query's rows over the whole plan, its transfer track too."""
        scores = group_by_submission(queries.leaderboard.board_rows(self.session, suite, harness.HARNESS_VERSION))
        return rank_entries(scores, self.plan(trials, suite, transfer=True))

    def result(self, robust_score: float = 0.8, harness_version: str = harness.HARNESS_VERSION) -> dict:
        """A RunResult.to_dict() as the worker stores it: test_acc = robust_score, poison_fit = 1 - robust_score."""
        metrics = Metrics(
            test_acc=robust_score,
            poison_fit=1 - robust_score,
            poison_fit_noaug=1 - robust_score,
            clean_fit=1.0,
            robust_score=robust_score,
        )
        result = RunResult(
            benchmark=benchmarks_in(Suite.SMOKE)[0],
            seed=1,
            poison_seed=None,
            loss_sha256="0" * 64,
            metrics=metrics,
            curve=[EpochRecord(0, 0, 1.0, robust_score, 1 - robust_score, 1.0)],
            environment={"device": "cpu"},
            wall_seconds=2.0,
            train_seconds=1.0,
            images_per_second=256.0,
            harness_version=harness_version,
            precision="fp32",
        )
        return result.to_dict()

    def finish(self, submission: Submission, robust_score: float | Mapping[int, float] = 0.8, **result: str) -> None:
        """Every queued run of the submission claimed and succeeded; given a mapping trial -> score, only the runs of
        those trials, each with its trial's score."""
        for run in [*submission.runs, *submission.replacement_runs]:
            if run.status is not RunStatus.QUEUED:
                continue
            if isinstance(robust_score, Mapping) and run.trial not in robust_score:
                continue
            score = robust_score[run.trial] if isinstance(robust_score, Mapping) else robust_score
            claimed = queries.runs.claim_run(self.session, run.id, "test-worker")
            queries.runs.complete_run(self.session, run.id, claimed.attempt, self.result(score, **result), "")
        self.session.expire(submission)


@pytest.fixture(params=["postgresql", "sqlite"])
def any_session(request, tmp_path: Path) -> Iterator[Session]:
    """The same test on PostgreSQL (production, CI) and on SQLite (the embedded default)."""
    if request.param == "postgresql":
        yield request.getfixturevalue("session")
        return
    url = f"sqlite:///{tmp_path / 'poisonbench.sqlite3'}"
    upgrade(url)
    with Session(get_engine(url), expire_on_commit=False) as s:
        yield s


@pytest.fixture
def factory(session: Session) -> Factory:
    return Factory(session)


@pytest.fixture
def any_factory(any_session: Session) -> Factory:
    return Factory(any_session)


@pytest.fixture
def factory_for() -> type[Factory]:
    """Factories on a session of the test's choosing, e.g. one that commits for worker processes to see."""
    return Factory


# ---------------------------------------------------------------- the service as real processes


@pytest.fixture(scope="session")
def worker_postgres_url(migrated_database) -> str:
    return migrated_database(COMMITTED_DATABASE)


@pytest.fixture
def committed_postgres_url(worker_postgres_url: str) -> Iterator[str]:
    """A database that other processes see (no rolled-back transaction), emptied after the test."""
    yield worker_postgres_url
    with get_engine(worker_postgres_url).begin() as connection:
        connection.execute(text("TRUNCATE runs, submissions, participants RESTART IDENTITY CASCADE"))


@pytest.fixture
def service_settings(committed_postgres_url: str, redis_url: str, redis_client, tmp_path: Path) -> Settings:
    """PostgreSQL and Redis for worker processes; heartbeats short for a test, long enough for a busy CPU."""
    return Settings(
        suite=Suite.SMOKE,
        database_url=committed_postgres_url,
        broker_url=redis_url,
        data_root=tmp_path / "var",
        heartbeat_interval=1,
        heartbeat_timeout=6,
        leaderboard_refresh_seconds=0,  # a test reads the leaderboard right after the write it checks
        check_timeout=300,  # the upload's sandbox check took over 60 s at a load average of 25 on 2 cores
    )


@pytest.fixture
def service_environment(service_settings: Settings) -> dict[str, str]:
    """The environment a service process reads `service_settings` from."""
    return {
        **os.environ,
        "POISONBENCH_DATABASE_URL": service_settings.database_url,
        "POISONBENCH_BROKER_URL": service_settings.broker_url,
        "POISONBENCH_DATA_ROOT": str(service_settings.data_root),
        "POISONBENCH_SUITE": Suite.SMOKE,
        "POISONBENCH_HEARTBEAT_INTERVAL": str(service_settings.heartbeat_interval),
        "POISONBENCH_HEARTBEAT_TIMEOUT": str(service_settings.heartbeat_timeout),
        "POISONBENCH_REAPER_INTERVAL": "1",
        "POISONBENCH_LEADERBOARD_REFRESH_SECONDS": str(service_settings.leaderboard_refresh_seconds),
    }


class ServiceProcesses:
    """Python processes of the service, each in a process group of its own; all killed after the test."""

    def __init__(self, cwd: Path):
        self.cwd = cwd
        self.started: list[subprocess.Popen] = []

    def start(
        self, *args: str, env: dict[str, str], pass_fds: tuple[int, ...] = (), log: Path | None = None
    ) -> subprocess.Popen:
        """`python ARGS`, e.g. ("-m", "cli.main", "worker"); `pass_fds` are inherited (a bound socket); `log`
        receives its stdout and stderr, for a test that reads what the process did."""
        with open(log or os.devnull, "ab") as output:
            process = subprocess.Popen(
                [sys.executable, *args],
                env=env,
                cwd=self.cwd,
                start_new_session=True,
                pass_fds=pass_fds,
                stdout=output if log else None,
                stderr=output if log else None,
            )
        self.started.append(process)
        return process

    @staticmethod
    def kill(process: subprocess.Popen, sig: signal.Signals = signal.SIGKILL) -> None:
        # The whole group: killing it kills Celery's pool child too, as a crash of the machine would.
        if process.poll() is None:
            os.killpg(process.pid, sig)
        process.wait(60)


@pytest.fixture
def service_processes(tmp_path: Path) -> Iterator[ServiceProcesses]:
    processes = ServiceProcesses(tmp_path)
    yield processes
    for process in processes.started:
        processes.kill(process)


@pytest.fixture
def start_worker(
    service_environment: dict[str, str], service_processes: ServiceProcesses
) -> Callable[..., subprocess.Popen]:
    """Starts `poisonbench worker [OPTIONS]` on `service_settings`.

    The environment is asked for first, so the processes are killed before the database is emptied: a
    process still reading it would deadlock the TRUNCATE.
    """

    def start(*options: str, log: Path | None = None) -> subprocess.Popen:
        return service_processes.start("-m", "cli.main", "worker", *options, env=service_environment, log=log)

    return start
