"""How close the queue's start and finish estimates come: predicted against actual per submission, embedded service.

Starts `poisonbench serve --suite smoke` on the embedded default (SQLite and its broker in a temporary folder, one
worker training for real, the shipped recorded results of the service's entries installed: they must not count;
with `--trials` other than the suite's default they do not apply, and the service's entries are trained too,
behind participants' runs in the queue's fair order). Uploads one warm-up submission and waits until it has
finished, so that every benchmark of the suite has one run trained here, then uploads `--submissions` more (the
shipped baseline losses in turn, each from a participant of its own), reads each one's `estimated_start` and
`estimated_finish` from the API right after its upload and again once all are in (an earlier upload cannot know
of the later ones, which take turns with it), and waits for all of them. Prints, per submission and reading, the
wait predicted and the wait it had until its first run started and its last run ended (seconds from the
reading), and the median absolute error of each as a % of the actual wait. Figures: docs/performance.md,
"Queue estimates".

    python benchmarks/eta_accuracy.py --submissions 4
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from load import stop_service

from db import queries
from db.session import session_scope
from harness.contract import DEFAULT_FILENAME
from harness.losses import BASELINES, loss_path
from settings import Settings

REPOSITORY = Path(__file__).resolve().parent.parent
READY_SECONDS = 300  # for the server to answer /readyz: its first start installs the recorded results
FINISH_SECONDS = 7_200  # for every upload to finish on a loaded 2-core machine
FINAL_STATUSES = {"succeeded", "failed", "cancelled"}


@dataclass(frozen=True)
class Reading:
    """A submission's estimates as the API gave them at `at` (null: not known, or its start already past)."""

    at: datetime
    start: datetime | None
    finish: datetime | None


@dataclass
class Upload:
    submission_id: int
    token: str
    at_upload: Reading  # right after its upload: `at` is its created_at, the server's clock
    after_all: Reading | None = None  # once every upload is in: later uploads take turns with it
    started: datetime | None = None
    finished: datetime | None = None


def start_service(data_root: Path, port: int, trials: int | None) -> subprocess.Popen:
    """`poisonbench serve` on the embedded default in `data_root`; its output in data_root/serve.log."""
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("POISONBENCH_")
    }  # the embedded default, whatever this shell has set
    env["POISONBENCH_DATA_ROOT"] = str(data_root)
    if trials is not None:
        env["POISONBENCH_TRIALS_SMOKE"] = str(trials)
    log = (data_root / "serve.log").open("w")
    command = [sys.executable, "-m", "cli.main", "serve", "--suite", "smoke", "--port", str(port)]
    return subprocess.Popen(command, env=env, cwd=REPOSITORY, stdout=log, stderr=log, start_new_session=True)


def wait_until_ready(client: httpx.Client, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode} before it was ready")
        try:
            if client.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(1)
    raise SystemExit(f"the server was not ready within {READY_SECONDS} s")


def upload(client: httpx.Client, data_root: Path, number: int) -> Upload:
    """The shipped baseline loss number `number` (in turn), made unique, uploaded by a new participant."""
    with session_scope(Settings(data_root=data_root).sqlalchemy_url) as session:
        _, token = queries.participants.create_participant(session, f"eta-{number:02d}")
    code = f"{loss_path(BASELINES[number % len(BASELINES)]).read_text()}\n# eta {number}\n"
    answer = client.post(
        "/api/submissions",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": (DEFAULT_FILENAME, code, "text/x-python")},
        data={"name": f"eta {number}"},
    )
    if answer.status_code != 202:
        raise SystemExit(f"upload {number} refused: {answer.status_code} {answer.text}")
    detail = client.get(answer.json()["url"], headers={"Authorization": f"Bearer {token}"}).json()
    created = datetime.fromisoformat(detail["created_at"])
    return Upload(
        detail["id"], token, Reading(created, _time(detail["estimated_start"]), _time(detail["estimated_finish"]))
    )


def read_again(client: httpx.Client, item: Upload) -> None:
    at = datetime.now(UTC)  # the server's clock: the same machine
    detail = client.get(f"/api/submissions/{item.submission_id}", headers={"Authorization": f"Bearer {item.token}"})
    body = detail.json()
    item.after_all = Reading(at, _time(body["estimated_start"]), _time(body["estimated_finish"]))


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def wait_for(client: httpx.Client, uploads: list[Upload]) -> None:
    """Polls until every upload is final; fills in when its first run started and its last one ended."""
    deadline = time.monotonic() + FINISH_SECONDS
    pending = list(uploads)
    while pending:
        if time.monotonic() > deadline:
            raise SystemExit(f"{len(pending)} uploads not final after {FINISH_SECONDS} s")
        time.sleep(5)
        for item in list(pending):
            detail = client.get(
                f"/api/submissions/{item.submission_id}", headers={"Authorization": f"Bearer {item.token}"}
            ).json()
            if detail["status"] not in FINAL_STATUSES:
                continue
            if detail["status"] != "succeeded":
                raise SystemExit(f"submission {item.submission_id} {detail['status']}: {detail['error']}")
            item.started = min(_time(run["started_at"]) for run in detail["runs"])
            item.finished = max(_time(run["finished_at"]) for run in detail["runs"])
            pending.remove(item)


def report(uploads: list[Upload], which: str) -> None:
    """Predicted and actual waits from the reading `which` ("at_upload" or "after_all"), and the median error."""
    print(f"{which}: submission  predicted start  actual start  predicted finish  actual finish  (s after reading)")
    errors: dict[str, list[float]] = {"start": [], "finish": []}
    for item in uploads:
        reading: Reading = getattr(item, which)
        row = [f"{item.submission_id:>10}"]
        for name, predicted, actual in (
            ("start", reading.start, item.started),
            ("finish", reading.finish, item.finished),
        ):
            waited = (actual - reading.at).total_seconds()
            if predicted is None:  # not known, or (read after its start) already past
                row += [f"{'-':>15}", f"{waited:>13.0f}"]
                continue
            guessed = (predicted - reading.at).total_seconds()
            row += [f"{guessed:>15.0f}", f"{waited:>13.0f}"]
            # an error as a share of the wait; a wait under 1 s (the worker idle) is taken as 1 s
            errors[name].append(abs(guessed - waited) / max(waited, 1.0))
        print("  ".join(row))
    for name, shares in errors.items():
        if shares:
            print(
                f"{which}: median absolute error of the {name}: {100 * statistics.median(shares):.0f} % of the actual "
                f"wait (max {100 * max(shares):.0f} %, {len(shares)} submissions)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=4, help="uploaded after the warm-up (default 4)")
    parser.add_argument("--trials", type=int, help="trials per submission (default: the smoke suite's, 2)")
    parser.add_argument("--port", type=int, default=8766, help="loopback port of the server (default 8766)")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress shows in a log while it runs
    with tempfile.TemporaryDirectory(prefix="poisonbench-eta-") as folder:
        data_root = Path(folder)
        server = start_service(data_root, args.port, args.trials)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=300) as client:
                wait_until_ready(client, server)
                began = time.monotonic()
                warm_up = upload(client, data_root, 0)
                wait_for(client, [warm_up])
                print(f"warm-up: one run per benchmark trained in {time.monotonic() - began:.0f} s")
                print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
                uploads = [upload(client, data_root, number) for number in range(1, args.submissions + 1)]
                for item in uploads:
                    read_again(client, item)
                wait_for(client, uploads)
                print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            report(uploads, "at_upload")
            report(uploads, "after_all")
        finally:
            stop_service(server)
            if server.returncode not in (0, 128 + signal.SIGTERM, -signal.SIGTERM):
                print((data_root / "serve.log").read_text()[-4000:], file=sys.stderr)


if __name__ == "__main__":
    main()
