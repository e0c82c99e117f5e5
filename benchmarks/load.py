"""Load test of the service on loopback: leaderboard and status reads at fixed rates while participants upload.

Creates a fresh PostgreSQL database (127.0.0.1:5432, trust auth) holding 1,000 finished submissions, each on
the smoke suite's 3 benchmarks and its transfer track, with realistic metrics and curves, starts `poisonbench
serve` on it (the API, a worker and the maintenance worker, as real processes, on Redis), then for `--seconds`
sends open-loop traffic (each request leaves at its scheduled time whether or not earlier ones have answered, and
its latency counts from that time): the leaderboard at `--rate` requests/s, owners' status reads, and uploads
from 50 participants through the real sandbox check. Prints requests/s and p50/p95/p99 latency per endpoint,
waits (bounded) for every accepted upload to finish, checks that each succeeded one is on the leaderboard within
the refresh time, and exits 1 on any 5xx, transport error or unfinished upload. Figures: docs/reliability.md,
"Load".

    python benchmarks/load.py --seconds 30 --rate 200
"""

import argparse
import asyncio
import hashlib
import itertools
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import httpx
import psycopg
import redis
from sqlalchemy.orm import Session

from db import queries
from db.migrate import upgrade
from db.models import SubmissionStatus
from db.session import session_scope
from harness.contract import DEFAULT_FILENAME
from harness.losses import BASELINES, loss_path
from harness.registry import Benchmark, Suite, get_benchmark
from harness.result import EpochRecord, Metrics, RunResult
from scoring.plan import suite_plan
from settings import Settings
from worker.baselines import queue_baselines

REPOSITORY = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE = "poisonbench_load"
REDIS_URL = "redis://127.0.0.1:6379/14"  # a database of its own: a test run claims one of 1 to 13
SUITE = Suite.SMOKE  # uploads are trained for real, so the suite whose runs take seconds
PARTICIPANTS = 50  # owners of the finished submissions, who read their status
UPLOADERS = 50  # participants who upload during the traffic, each within the daily limit for 25 s x 50 x 5
SUBMISSIONS = 1_000  # finished, visible, on every benchmark of the suite: all on the leaderboard
# One trial per entry, here and in the service started: the load is in the board's reads, not its runs.
PLAN = suite_plan(Settings(trials_smoke=1), SUITE)
STATUS_RATE = 20.0  # owners' status reads per second
UPLOAD_INTERVAL = 5.0  # seconds between uploads by default: each costs ~3 s of sandbox check on one of the 2 cores
REQUEST_TIMEOUT = 30.0  # seconds
UPLOAD_TIMEOUT = 90.0  # seconds: longer than the service's 60 s limit on the sandbox check, which then answers 503
CONNECTIONS = 50  # at most in flight at once; the rest wait in this client (open_loop)
READY_SECONDS = 120  # for the server to answer /readyz
DRAIN_SECONDS = 900  # for the worker to finish every accepted upload (a smoke run takes seconds)
LEADERBOARD_REFRESH_SECONDS = 1.0  # the setting the goal was measured with (the default, 0, looks on every read)
LISTING_SECONDS = 10.0  # for a succeeded upload to show on the leaderboard: a look and a computation, with margin
FINAL_STATUSES = {SubmissionStatus.SUCCEEDED, SubmissionStatus.FAILED, SubmissionStatus.CANCELLED}


# ---------------------------------------------------------------- the database


def create_database() -> str:
    """A fresh, migrated database; returns its SQLAlchemy URL."""
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DATABASE}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"
    upgrade(url)
    return url


def drop_database() -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def fill_database(url: str, rng: random.Random) -> tuple[dict[str, tuple[str, list[int]]], list[str]]:
    """The baselines and SUBMISSIONS submissions, finished the way production finishes them: created by
    `create_submission`, each run claimed and completed by the worker's own queries (guarded transitions, the
    result validated against its schema). Their owners read their status; UPLOADERS, with nothing submitted
    today, upload (the daily limit would refuse an owner of 20 submissions made a moment ago).

    Returns each owner's token and submission ids, and the uploaders' tokens.
    """
    with session_scope(url) as session:
        _finish_baselines(session, rng)
        owners = [queries.participants.create_participant(session, f"load-{n:02d}") for n in range(PARTICIPANTS)]
        uploaders = [queries.participants.create_participant(session, f"upload-{n:02d}") for n in range(UPLOADERS)]
        code = loss_path(BASELINES[0]).read_text()
        owned: dict[str, tuple[str, list[int]]] = {p.display_name: (token, []) for p, token in owners}
        for n in range(SUBMISSIONS):
            participant, _ = owners[n % PARTICIPANTS]
            variant = f"{code}\n# variant {n}\n"
            submission = queries.submissions.create_submission(
                session,
                participant,
                name=f"loss {n}",
                code=variant,
                sha256=hashlib.sha256(variant.encode()).hexdigest(),
                plan=PLAN,
            )
            _finish(session, [run.id for run in submission.runs], rng)
            owned[participant.display_name][1].append(submission.id)
    return owned, [token for _, token in uploaders]


def _finish_baselines(session: Session, rng: random.Random) -> None:
    """What `serve` queues on its first start, finished through the worker's own queries."""
    _finish(session, queue_baselines(session, PLAN), rng)


def _finish(session: Session, run_ids: list[int], rng: random.Random) -> None:
    for run_id in run_ids:
        claimed = queries.runs.claim_run(session, run_id, "load-fill")
        benchmark = get_benchmark(claimed.benchmark, SUITE)
        queries.runs.complete_run(session, run_id, claimed.attempt, _result(benchmark, claimed, rng), "")


def _result(benchmark: Benchmark, claimed: queries.runs.ClaimedRun, rng: random.Random) -> dict:
    """A RunResult.to_dict() as the worker stores it, with plausible numbers."""
    test_acc, poison_fit = rng.uniform(0.3, 0.9), rng.uniform(0.05, 0.95)
    metrics = Metrics(
        test_acc=test_acc,
        poison_fit=poison_fit,
        poison_fit_noaug=min(1.0, poison_fit * rng.uniform(0.9, 1.1)),
        clean_fit=rng.uniform(0.6, 1.0),
        robust_score=(test_acc + 1 - poison_fit) / 2,
    )
    epochs = benchmark.epochs
    curve = [
        EpochRecord(
            epoch=epoch,
            official_epoch=benchmark.official_epoch(epoch),
            train_loss=2.3 * (1 - (epoch + 1) / (epochs + 1)),
            test_acc=test_acc * (epoch + 1) / epochs,
            poison_fit=poison_fit * (epoch + 1) / epochs,
            train_seconds=1.5 * (epoch + 1),
        )
        for epoch in range(epochs)
    ]
    result = RunResult(
        benchmark=benchmark,
        seed=claimed.seed,
        poison_seed=None,  # kept secret, as the worker stores it
        loss_sha256=claimed.sha256,
        metrics=metrics,
        curve=curve,
        environment={"device": "cpu"},
        wall_seconds=2.0 * epochs,
        train_seconds=1.5 * epochs,
        images_per_second=benchmark.train_samples / 1.5,
        precision="fp32",  # every run trains in fp32 (docs/performance.md)
    )
    return result.to_dict()


# ---------------------------------------------------------------- the service


def start_service(database_url: str, data_root: Path, port: int) -> subprocess.Popen:
    """`poisonbench serve` (the API, a worker, the maintenance worker), its output in data_root/serve.log."""
    redis.Redis.from_url(REDIS_URL).flushdb()  # no broker messages left by an earlier load run
    env = {
        **os.environ,
        "POISONBENCH_DATABASE_URL": database_url,
        "POISONBENCH_BROKER_URL": REDIS_URL,
        "POISONBENCH_DATA_ROOT": str(data_root),
        "POISONBENCH_LEADERBOARD_REFRESH_SECONDS": str(LEADERBOARD_REFRESH_SECONDS),
        "POISONBENCH_TRIALS_SMOKE": str(len(PLAN.trials)),
    }
    log = (data_root / "serve.log").open("w")
    command = [sys.executable, "-m", "cli.main", "serve", "--suite", SUITE, "--port", str(port)]
    return subprocess.Popen(command, env=env, cwd=REPOSITORY, stdout=log, stderr=log, start_new_session=True)


def stop_service(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)  # `serve` stops its workers in order
    try:
        server.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def wait_until_ready(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode} before it was ready")
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the server was not ready within {READY_SECONDS} s")


def warm_up(base: str) -> None:
    """The first leaderboard read of a started server computes the board (0.2-0.3 s for 1,000 submissions) while
    the readers wait; a deployed server made it long before, so it is made here before the traffic."""
    httpx.get(f"{base}/api/leaderboard", timeout=REQUEST_TIMEOUT).raise_for_status()


# ---------------------------------------------------------------- the traffic


@dataclass
class Endpoint:
    """What one endpoint answered: latency from each request's scheduled time, status codes, errors."""

    latencies: list[float] = field(default_factory=list)  # seconds
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    errors: list[str] = field(default_factory=list)


class Answer(Protocol):
    status_code: int


A = TypeVar("A", bound=Answer)


@dataclass
class RawAnswer:
    status_code: int


class KeepAliveGets:
    """GETs over kept-alive loopback connections, by hand: httpx spends about 1 ms of CPU on a request, which at
    200 requests/s made this client take a good part of the 2 cores it shares with the server it measures.

    Measured against aiohttp 3.14.5's ClientSession (one TCPConnector, limit 50), side by side in one run: 8
    alternating rounds of 2,000 leaderboard GETs at 200/s on the 1,000-submission database, client CPU from
    time.process_time, the API process's from /proc/PID/stat, everything at nice 10 on the shared 2 cores
    (load average 15-16, other engineers' test suites running):

        client CPU per request   this 0.151-0.221 ms (mean 0.186)   aiohttp 0.231-0.395 ms (mean 0.311)
        server CPU per request   this 0.425-0.500 ms (mean 0.464)   aiohttp 0.415-0.520 ms (mean 0.463)

    The server's cost does not depend on the client; this one leaves it about 0.12 ms of CPU more per request
    (2.5 % of a core at 200 requests/s), so it stays.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def get(self, path: str, headers: dict[str, str] | None = None) -> RawAnswer:
        lines = [f"GET {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode()
        while self.idle:  # the server closes a connection idle for its keep-alive time: then take the next
            reader, writer = self.idle.pop()
            try:
                writer.write(request)
                status_line = await reader.readline()
            except ConnectionError:
                status_line = b""
            if status_line:
                return await self._answer(path, status_line, reader, writer)
            writer.close()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        writer.write(request)
        return await self._answer(path, await reader.readline(), reader, writer)

    async def _answer(
        self, path: str, status_line: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> RawAnswer:
        fields = status_line.split()
        if len(fields) < 2 or not fields[1].isdigit():
            writer.close()
            raise ConnectionError(f"GET {path}: no HTTP status line but {status_line[:80]!r}")
        length = None
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        if length is None:
            writer.close()
            raise ConnectionError(f"GET {path}: answered {fields[1].decode()} without a Content-Length")
        await reader.readexactly(length)
        self.idle.append((reader, writer))
        return RawAnswer(int(fields[1]))

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


async def open_loop(
    rate: float,
    seconds: float,
    endpoint: Endpoint,
    send: Callable[[], Awaitable[A]],
    in_flight: asyncio.Semaphore,
) -> list[A]:
    """Sends at `rate` per second for `seconds`, each at its scheduled time; returns the answers.

    Requests beyond `in_flight` wait here, their latency counting: httpx's pool slows down quadratically
    with the requests queued inside it, which made this client, not the server, the bottleneck.
    """
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def timed(due: float) -> A | None:
        try:
            async with in_flight:
                answer = await send()
        except (httpx.HTTPError, OSError, asyncio.IncompleteReadError) as error:
            endpoint.errors.append(repr(error))
            return None
        endpoint.latencies.append(loop.time() - due)
        endpoint.statuses[answer.status_code] += 1
        return answer

    tasks = []
    for n in range(int(rate * seconds)):
        due = start + n / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        tasks.append(asyncio.create_task(timed(due)))
    return [answer for answer in await asyncio.gather(*tasks) if answer is not None]


async def run_traffic(
    base: str,
    seconds: float,
    rate: float,
    upload_interval: float,
    owned: dict[str, tuple[str, list[int]]],
    uploader_tokens: list[str],
    rng: random.Random,
) -> tuple[dict[str, Endpoint], list[tuple[str, int]]]:
    """Returns each endpoint's record and the accepted uploads as (token, submission id)."""
    endpoints = {name: Endpoint() for name in ("GET /api/leaderboard", "GET /api/submissions/{id}", "POST upload")}
    uploaders = itertools.cycle(uploader_tokens)
    code = loss_path("generalized_ce").read_text()
    uploads = itertools.count()
    in_flight = asyncio.Semaphore(CONNECTIONS)
    upload_rate = 1 / upload_interval if upload_interval else 0.0
    url = httpx.URL(base)
    gets = KeepAliveGets(url.host, url.port)
    async with httpx.AsyncClient(base_url=base, timeout=REQUEST_TIMEOUT) as client:

        def read_leaderboard() -> Awaitable[RawAnswer]:
            return gets.get("/api/leaderboard")

        def read_status() -> Awaitable[RawAnswer]:
            token, submission_ids = rng.choice(list(owned.values()))
            return gets.get(f"/api/submissions/{rng.choice(submission_ids)}", _auth(token))

        def upload() -> Awaitable[httpx.Response]:
            n = next(uploads)
            files = {"file": (DEFAULT_FILENAME, f"{code}\n# load upload {n}\n")}
            return client.post(
                "/api/submissions",
                headers=_auth(next(uploaders)),
                files=files,
                data={"name": f"u{n}"},
                timeout=UPLOAD_TIMEOUT,
            )

        try:
            _, _, answered = await asyncio.gather(
                open_loop(rate, seconds, endpoints["GET /api/leaderboard"], read_leaderboard, in_flight),
                open_loop(STATUS_RATE, seconds, endpoints["GET /api/submissions/{id}"], read_status, in_flight),
                open_loop(upload_rate, seconds, endpoints["POST upload"], upload, in_flight),
            )
        finally:
            gets.close()
    accepted = [
        (response.request.headers["Authorization"].removeprefix("Bearer "), response.json()["id"])
        for response in answered
        if response.status_code == 202
    ]
    return endpoints, accepted


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def report(endpoints: dict[str, Endpoint], seconds: float) -> None:
    print(f"{'endpoint':28} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  statuses")
    for name, endpoint in endpoints.items():
        answered = len(endpoint.latencies)
        cuts = statistics.quantiles(endpoint.latencies, n=100) if answered > 1 else [float("nan")] * 99
        statuses = " ".join(f"{code}x{count}" for code, count in sorted(endpoint.statuses.items()))
        errors = f" transport errors x{len(endpoint.errors)}" if endpoint.errors else ""
        print(
            f"{name:28} {answered:>8} {answered / seconds:>7.1f} {cuts[49] * 1e3:>8.1f} {cuts[94] * 1e3:>8.1f} "
            f"{cuts[98] * 1e3:>8.1f}  {statuses}{errors}"
        )


# ---------------------------------------------------------------- after the traffic


def wait_for_uploads(base: str, accepted: list[tuple[str, int]]) -> dict[int, str]:
    """Each accepted upload's last status, polled until all are final or DRAIN_SECONDS pass."""
    statuses: dict[int, str] = {}
    deadline = time.monotonic() + DRAIN_SECONDS
    with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT) as client:
        while True:
            for token, submission_id in accepted:
                if statuses.get(submission_id) not in FINAL_STATUSES:
                    answer = _get_json(client, f"/api/submissions/{submission_id}", _auth(token))
                    statuses[submission_id] = answer["status"] if answer else "unanswered"
            if all(status in FINAL_STATUSES for status in statuses.values()) or time.monotonic() > deadline:
                return statuses
            time.sleep(2)


def _get_json(client: httpx.Client, url: str, headers: dict[str, str] | None = None) -> dict | None:
    """The answer's JSON, or None when the server did not answer 200 in time (it may still be catching up)."""
    try:
        answer = client.get(url, headers=headers)
    except httpx.HTTPError:
        return None
    return answer.json() if answer.status_code == 200 else None


def failures(base: str, endpoints: dict[str, Endpoint], uploads: dict[int, str], uploads_sent: bool) -> list[str]:
    found = []
    for name, endpoint in endpoints.items():
        server_errors = sum(count for code, count in endpoint.statuses.items() if code >= 500)
        if server_errors:
            found.append(f"{name}: {server_errors} answers 5xx")
        if endpoint.errors:
            found.append(f"{name}: {len(endpoint.errors)} transport errors, e.g. {endpoint.errors[0]}")
    if uploads_sent and not uploads:
        found.append("no upload was accepted: nothing went through the worker")
    unfinished = {i: s for i, s in uploads.items() if s not in FINAL_STATUSES}
    if unfinished:
        found.append(f"uploads not final after {DRAIN_SECONDS} s: {unfinished}")
    succeeded = {i for i, status in uploads.items() if status == SubmissionStatus.SUCCEEDED}
    listed = _listed_once_refreshed(base, succeeded)
    if listed is None:
        return [*found, "the leaderboard did not answer 200 after the traffic"]
    missing = sorted(succeeded - listed)
    if missing:
        found.append(f"succeeded uploads missing from the leaderboard: {missing}")
    return found


def _listed_once_refreshed(base: str, expected: set[int]) -> set[int] | None:
    """The submission ids on the whole leaderboard once it shows `expected` or LISTING_SECONDS have passed (a
    change shows within the refresh time plus one computation of the board); None if it did not answer 200."""
    deadline = time.monotonic() + LISTING_SECONDS
    with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT) as client:
        while True:
            pages = [_get_json(client, f"/api/leaderboard?offset={offset}&limit=1000") for offset in (0, 1000)]
            if None in pages:
                return None
            listed = {entry["submission_id"] for page in pages for entry in page["data"]}
            if expected <= listed or time.monotonic() > deadline:
                return listed
            time.sleep(LEADERBOARD_REFRESH_SECONDS / 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30, help="how long the traffic lasts (default 30)")
    parser.add_argument("--rate", type=float, default=200, help="leaderboard requests per second (default 200)")
    parser.add_argument(
        "--upload-interval",
        type=float,
        default=UPLOAD_INTERVAL,
        help=f"seconds between uploads (default {UPLOAD_INTERVAL:g}); 0: no uploads, reads only",
    )
    parser.add_argument("--port", type=int, default=8765, help="loopback port of the server (default 8765)")
    args = parser.parse_args()
    rng = random.Random(0)
    base = f"http://127.0.0.1:{args.port}"

    began = time.monotonic()
    database_url = create_database()
    owned, uploader_tokens = fill_database(database_url, rng)
    print(f"filled {DATABASE}: {SUBMISSIONS} submissions x 3 runs in {time.monotonic() - began:.1f} s")
    with tempfile.TemporaryDirectory(prefix="poisonbench-load-") as data_root:
        server = start_service(database_url, Path(data_root), args.port)
        try:
            wait_until_ready(base, server)
            print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            warm_up(base)
            traffic = run_traffic(base, args.seconds, args.rate, args.upload_interval, owned, uploader_tokens, rng)
            endpoints, accepted = asyncio.run(traffic)
            print(f"load average after {args.seconds:.0f} s: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            report(endpoints, args.seconds)
            print(f"waiting for the worker to finish {len(accepted)} accepted uploads")
            uploads = wait_for_uploads(base, accepted)
            print("uploads:", " ".join(f"{i}={s}" for i, s in sorted(uploads.items())))
            found = failures(base, endpoints, uploads, uploads_sent=args.upload_interval > 0)
        finally:
            stop_service(server)
            if server.returncode not in (0, 128 + signal.SIGTERM):
                print((Path(data_root) / "serve.log").read_text()[-4000:], file=sys.stderr)
    drop_database()
    for failure in found:
        print(f"FAIL {failure}", file=sys.stderr)
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
