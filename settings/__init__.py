"""The service's one settings object (api/, db/, worker/, `serve`), read once from POISONBENCH_* variables."""

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Self

from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveInt, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from harness.contract import MAX_FILE_BYTES
from harness.registry import Suite

__all__ = ["Environment", "Settings", "get_settings"]

PUBLISHED_SEED = 42  # the original harness's seed: its poisoned indices are public
WORKER_NICENESS = 10  # of the workers when they do not run under SCHED_IDLE (idle_background_work off)


class Environment(StrEnum):
    DEVELOPMENT = "development"  # a laptop: embedded SQLite and broker, unsafe defaults allowed
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Every knob of the service. Empty URLs mean the embedded default: SQLite files under `data_root`."""

    model_config = SettingsConfigDict(env_prefix="POISONBENCH_", frozen=True)

    environment: Environment = Environment.DEVELOPMENT
    data_root: Path = Path("var")  # the embedded database and broker
    datasets_dir: Path = Path("data")  # where the harness finds (official) datasets
    database_url: str = ""  # e.g. postgresql+psycopg://user:pass@host/db; empty: SQLite in data_root
    broker_url: str = ""  # e.g. redis://host:6379/0; empty: kombu's SQLAlchemy transport on SQLite
    # None: official when the serving host has a CUDA device, else proxy; `poisonbench serve` decides.
    suite: Suite | None = None
    # Every trial's training and poison seeds derive from it (scoring/trials.py). Keep it secret in production, or a
    # loss can learn which labels were flipped. Before trials it was the poison seed itself (POISONBENCH_POISON_SEED):
    # set it to that value on upgrade, so runs queued before the upgrade train as they would have.
    master_seed: int = PUBLISHED_SEED
    # Trials per entry in each suite: the paired runs whose spread gives each score its interval. 3 detects a
    # true paired difference of 3.26 sd of the per-trial differences with 80 % power: 0.15 on the proxy board's
    # headline, whose sd is 0.046 (docs/statistics.md, "Power").
    trials_official: PositiveInt = 3
    trials_proxy: PositiveInt = 3
    trials_smoke: PositiveInt = 2
    # Idle workers add trials, one at a time and up to this many per entry, to complete entries whose rank interval
    # overlaps the leader's or a neighbour's, behind every participant's runs (docs/statistics.md, "Extra
    # trials"). 0 (or at most a suite's trials) adds none: a CPU machine would spend hours on them.
    extra_trials_up_to: NonNegativeInt = 0
    # Idle workers retrain the baselines and published methods whose results were recorded on another machine, one
    # entry at a time and behind every participant's runs, so that submissions are compared with them paired
    # (worker/recorded_replacement.py). Off, the recorded results stay until an admin reruns them.
    replace_recorded_when_idle: bool = True
    # The upload limit: every message and the web form's hint say this number (the sandbox refuses more anyway).
    max_file_bytes: PositiveInt = Field(MAX_FILE_BYTES, le=MAX_FILE_BYTES)
    submissions_per_day: PositiveInt = 5  # per participant; infrastructure failures, cancelled ones are free
    max_attempts: PositiveInt = 3  # starts of one run before an infrastructure failure is final
    # A run's own budget: seconds of CPU time of the process that trains it (every thread; the sandboxed loss has
    # limits of its own), checked after each epoch. Time spent waiting for a core on a busy host is not counted, so
    # a slow host never fails a run. An official run takes ~15 min on a GPU.
    run_time_limit: PositiveInt = 3600
    # Wall seconds after which a run still unfinished is taken as stuck (a hang guard: a trainer that neither
    # progresses nor uses CPU) and queued again. At the default a run may take 6x its CPU budget on a busy host.
    run_hang_limit: PositiveInt = 6 * 3600
    heartbeat_interval: PositiveInt = 15  # seconds between a running run's heartbeats
    heartbeat_timeout: PositiveInt = 120  # seconds of silence after which the reaper requeues a run
    reaper_interval: PositiveInt = 30  # seconds between two passes of the reaper
    # Redis redelivers an unacknowledged message after this many seconds: it must outlast the longest run, or
    # a run still training is delivered a second time (the guarded claim drops it, but a worker is held up).
    broker_visibility_timeout: PositiveInt = 7 * 3600
    check_timeout: PositiveInt = 60  # seconds the sandbox's validation of an upload may take
    # Check processes kept warm (api/validation.py): each takes about 5 s of CPU to start (torch, twice); a burst
    # of uploads beyond this many waits for the replacements.
    check_pool_size: PositiveInt = 2
    # Priorities (docs/security.md, "The upload check"): the API at its own, upload checks this much nicer, and
    # training below both, so a check never waits behind a run.
    check_niceness: int = Field(5, ge=0, lt=WORKER_NICENESS)
    # Workers and their sandboxed loss processes run under Linux's SCHED_IDLE: they get only the CPU everything
    # else leaves, so they never delay a page or a check (docs/reliability.md, "Load"). Off, on a host where other
    # work at normal priority would starve them, they run at WORKER_NICENESS instead, still below the checks.
    idle_background_work: bool = True
    cors_origins: tuple[str, ...] = ()  # closed by default: the API is used with curl and from its own pages
    # Failed token checks from one client address within the window before it is answered 429 (api/auth_rate_limit.py)
    auth_failures_allowed: PositiveInt = 10
    auth_failure_window: PositiveInt = 600  # seconds
    # Seconds a leaderboard read may reuse the board without asking the database whether it changed: a finished
    # run, or a hide, shows within this. 0 (one indexed query per read) shows them on the next read: an admin
    # who hides an entry sees it gone at once (api/leaderboard_cache.py).
    leaderboard_refresh_seconds: NonNegativeFloat = 0.0
    hsts_max_age: NonNegativeInt = 0  # seconds of Strict-Transport-Security; set it only when served over HTTPS

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.broker_visibility_timeout <= self.run_hang_limit:
            raise ValueError(
                "broker_visibility_timeout must exceed run_hang_limit, or a running run is delivered twice"
            )
        if self.heartbeat_timeout <= 2 * self.heartbeat_interval:
            raise ValueError("heartbeat_timeout must be more than twice heartbeat_interval")
        if self.environment is Environment.PRODUCTION:
            self._refuse_unsafe_values()
        return self

    def _refuse_unsafe_values(self) -> None:
        if self.master_seed == PUBLISHED_SEED:
            raise ValueError(
                "set POISONBENCH_MASTER_SEED to a secret: the published seed's poisoned set is public"
            )
        if "*" in self.cors_origins:
            raise ValueError("POISONBENCH_CORS_ORIGINS may not be '*' in production; name the origins")
        if self.suite is None:
            raise ValueError("set POISONBENCH_SUITE (official, proxy or smoke) in production")
        if not self.database_url or not self.broker_url:
            raise ValueError("set POISONBENCH_DATABASE_URL and POISONBENCH_BROKER_URL in production")

    def trials(self, suite: str) -> int:
        """How many trials every entry of `suite` runs."""
        return {Suite.OFFICIAL: self.trials_official, Suite.PROXY: self.trials_proxy, Suite.SMOKE: self.trials_smoke}[
            Suite(suite)
        ]

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_root / 'poisonbench.sqlite3'}"

    @property
    def celery_broker_url(self) -> str:
        return self.broker_url or f"sqla+sqlite:///{self.data_root / 'broker.sqlite3'}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
