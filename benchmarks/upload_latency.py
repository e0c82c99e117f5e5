"""Upload check latency: the API's warm check pool alone, and POST /api/submissions, idle and on busy cores.

For each phase (idle; then beside two CPU-bound processes at this script's own priority, started and stopped
here) it sends --uploads files, cycling through an accepted loss, a rejected one (compute_loss raises) and one
that sleeps past the per-call time limit, one after another with --interval seconds between starts (0: a burst,
each upload sent as soon as the last was answered). First straight to the check pool the API uses
(api/validation.py, with the service's default settings), then as HTTP uploads to a real uvicorn server on the
embedded default (SQLite, SQLAlchemy broker; no worker, so accepted runs stay queued). Prints p50 / p95 / max
seconds per kind and the count of 503s and of any other unexpected answer. Figures: docs/performance.md.

    nice -n 10 .venv/bin/python benchmarks/upload_latency.py --uploads 15 --interval 5
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from api.validation import CheckPool, CheckUnavailableError
from db import queries
from db.migrate import upgrade
from db.session import session_scope
from harness.contract import DEFAULT_FILENAME
from settings import Settings

ACCEPTED = """import torch.nn.functional as F


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        return F.cross_entropy(logits, labels)
"""
REJECTED = """class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        raise ValueError("no loss for you")
"""
TIME_LIMIT = """import time


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        time.sleep(600)
"""
KINDS = {"accepted": (ACCEPTED, 202), "rejected": (REJECTED, 422), "time limit": (TIME_LIMIT, 422)}
BURNERS = 2
WARM_UP_SECONDS = 30  # starting a pool's processes takes under 10 s on 2 idle cores
SERVER_START_SECONDS = 120
HTTP_TIMEOUT = 300.0  # seconds: longer than the check's own limit, so that a 503 is the server's answer


def uploads(count: int, tag: str) -> Iterator[tuple[str, str]]:
    """(kind, code) in turn; each file differs (a comment), so none is refused as a duplicate."""
    kinds = list(KINDS)
    for n in range(count):
        kind = kinds[n % len(kinds)]
        yield kind, f"{KINDS[kind][0]}# {tag} upload {n}\n"


def timed_series(count: int, interval: float, tag: str, send: Callable[[str, str], str]) -> dict:
    """{kind: [seconds]} and {outcome: count}; `send` returns the outcome's name ('ok' when as expected)."""
    seconds, outcomes = defaultdict(list), defaultdict(int)
    for kind, code in uploads(count, tag):
        began = time.monotonic()
        outcomes[send(kind, code)] += 1
        seconds[kind].append(time.monotonic() - began)
        time.sleep(max(0.0, interval - (time.monotonic() - began)))
    return {"seconds": seconds, "outcomes": outcomes}


def check_directly(pool: CheckPool) -> Callable[[str, str], str]:
    def send(kind: str, code: str) -> str:
        try:
            verdict = pool(code, f"{kind}.py")
        except CheckUnavailableError:
            return "503"
        return "ok" if verdict.ok == (kind == "accepted") else f"wrong verdict for {kind}"

    return send


def post_upload(client: httpx.Client, token: str) -> Callable[[str, str], str]:
    def send(kind: str, code: str) -> str:
        response = client.post(
            "/api/submissions",
            headers={"Authorization": f"Bearer {token}"},
            files={"file": (DEFAULT_FILENAME, code, "text/x-python")},
            data={"name": f"latency {kind}"},
        )
        if response.status_code == KINDS[kind][1]:
            return "ok"
        return str(response.status_code)

    return send


@contextmanager
def burners(count: int) -> Iterator[None]:
    processes = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for process in processes:
            process.kill()
            process.wait()


@contextmanager
def api_server(data_root: Path) -> Iterator[tuple[httpx.Client, str]]:
    """uvicorn on the embedded default in `data_root`, a participant's token; stopped afterwards."""
    environment = {
        **os.environ,
        "POISONBENCH_SUITE": "smoke",
        "POISONBENCH_DATA_ROOT": str(data_root),
        "POISONBENCH_SUBMISSIONS_PER_DAY": "100000",
    }
    settings = Settings(suite="smoke", data_root=data_root)
    upgrade(settings.sqlalchemy_url)
    with session_scope(settings.sqlalchemy_url) as session:
        _, token = queries.participants.create_participant(session, "latency")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "uvicorn", "--factory", "api.main:create_app", "--port", str(port)]
    server = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=HTTP_TIMEOUT) as client:
            deadline = time.monotonic() + SERVER_START_SECONDS
            while True:
                try:
                    client.get("/healthz")
                    break
                except httpx.TransportError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("uvicorn did not start") from None
                    time.sleep(0.2)
            yield client, token
    finally:
        server.terminate()
        server.wait(60)


def report(phase: str, path: str, series: dict) -> None:
    for kind, seconds in series["seconds"].items():
        ordered = sorted(seconds)
        p95 = statistics.quantiles(ordered, n=20, method="inclusive")[18] if len(ordered) > 1 else ordered[0]
        print(
            f"| {phase} | {path} | {kind} | {len(ordered)} | {statistics.median(ordered):.2f} | {p95:.2f} "
            f"| {ordered[-1]:.2f} |"
        )
    unexpected = {name: n for name, n in series["outcomes"].items() if name != "ok"}
    print(f"|   | {path} | unexpected answers | {unexpected or 'none'} | | | |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=15, help="per phase and path, cycling the three kinds")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between upload starts; 0: a burst")
    parser.add_argument("--phases", nargs="+", default=["idle", "loaded"], choices=["idle", "loaded"])
    args = parser.parse_args()
    settings = Settings()
    print(
        f"check pool: {settings.check_pool_size} warm processes at niceness +{settings.check_niceness}; "
        f"{args.uploads} uploads per phase and path, {args.interval:g} s apart; this process at niceness "
        f"{os.getpriority(os.PRIO_PROCESS, 0)}, load average {os.getloadavg()[0]:.1f} at the start"
    )
    print("| phase | path | kind | n | p50 s | p95 s | max s |")
    print("|---|---|---|---|---|---|---|")
    pool = CheckPool(settings.check_pool_size, settings.check_timeout, settings.check_niceness)
    pool.fill()
    with tempfile.TemporaryDirectory(prefix="poisonbench-latency-") as folder, api_server(Path(folder)) as api:
        time.sleep(WARM_UP_SECONDS)  # both pools warm up before the first upload, as after a server's start
        for phase in args.phases:
            with burners(BURNERS if phase == "loaded" else 0):
                report(phase, "check", timed_series(args.uploads, args.interval, phase, check_directly(pool)))
                report(phase, "POST", timed_series(args.uploads, args.interval, phase, post_upload(*api)))
    pool.close()


if __name__ == "__main__":
    main()
