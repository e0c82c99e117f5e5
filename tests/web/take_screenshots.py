"""Takes the README's screenshots of the pages from a real smoke run: `python tests/web/take_screenshots.py`.

It starts `poisonbench serve` on the smoke suite in a temporary folder (the embedded default: SQLite, no
Redis), whose board shows the baselines and published methods from the recorded results at once, submits a
loss and a broken file through the submit page in Debian's Chromium, and writes docs/screenshots/*.png: the board's
first screen, a finished submission's page and the compare page at 1,280 x 900 and on a 390 x 844 phone, the
board with a row's details open, a submission waiting in the queue, and the submit page's refusal.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect, sync_playwright

from harness.losses import loss_path
from worker.baselines import SERVICE_LOSSES

REPOSITORY = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPOSITORY / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}  # a common phone's CSS pixels
TRAINING_SECONDS = 2400  # the service losses' runs, were they not recorded, on a busy 2-core machine


def main() -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith("POISONBENCH_")}
        env["POISONBENCH_SUITE"] = "smoke"
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "cli.main", "serve", "--port", str(port)]
        server = subprocess.Popen(command, env=env, cwd=folder, start_new_session=True)
        try:
            _wait_for_final(base, len(SERVICE_LOSSES))
            token = _admin(env, folder, "participant", "create", "ada").split()[-1]
            take_screenshots(base, token)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(60)
    print(f"screenshots written to {SCREENSHOTS}")


def take_screenshots(base: str, token: str) -> None:
    """Every page of the README's table, from a service whose own losses have all their trials on the board."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport=DESKTOP)
        _submit(page, base, token, "loss.py", "class NotTheLoss:\n    pass\n", "no loss here")
        expect(page.get_by_role("alert")).to_be_visible(timeout=60_000)
        page.screenshot(path=SCREENSHOTS / "submit-error.png", full_page=True)
        code = loss_path("generalized_ce").read_text().replace("q = 0.7", "q = 0.6")
        _submit(page, base, token, "gce_q06.py", code, "GCE, q = 0.6")
        page.wait_for_url(f"{base}/submissions/*", timeout=60_000)
        submission_id = page.url.rsplit("/", 1)[-1]
        expect(page.locator("#status")).to_have_text("succeeded", timeout=TRAINING_SECONDS * 1000)
        expect(page.locator("#comparisons tbody tr").first).to_be_visible(timeout=60_000)
        board = httpx.get(f"{base}/api/leaderboard", timeout=10).json()["data"]
        leader = next(entry["submission_id"] for entry in board if str(entry["submission_id"]) != submission_id)
        phone = browser.new_page(viewport=PHONE)
        for shown, suffix in ((page, ""), (phone, "-phone")):
            shown.goto(f"{base}/")  # the first screen: the board leads with its leader
            shown.screenshot(path=SCREENSHOTS / f"leaderboard{suffix}.png")
            shown.goto(f"{base}/submissions/{submission_id}")
            expect(shown.locator("#comparisons tbody tr").first).to_be_visible(timeout=60_000)
            expect(shown.locator("#curves canvas").first).to_be_visible(timeout=60_000)
            shown.screenshot(path=SCREENSHOTS / f"submission{suffix}.png", full_page=True)
            shown.goto(f"{base}/compare?ids={leader},{submission_id}")
            expect(shown.locator("#compare-curves canvas").first).to_be_visible(timeout=60_000)
            shown.screenshot(path=SCREENSHOTS / f"compare{suffix}.png", full_page=True)
        page.goto(f"{base}/")
        page.locator("#leaderboard .row-toggle").first.click()  # one row's details open
        page.screenshot(path=SCREENSHOTS / "leaderboard-details.png", full_page=True)
        # Two uploads at once: the second waits behind the first's trial-1 runs, with its place and ETA.
        for q in ("0.5", "0.4"):
            _submit(page, base, token, f"gce_q{q}.py", code.replace("q = 0.6", f"q = {q}"), f"GCE, q = {q}")
            page.wait_for_url(f"{base}/submissions/*", timeout=60_000)
        expect(page.locator("#queue-section")).to_be_visible(timeout=60_000)
        page.screenshot(path=SCREENSHOTS / "submission-queued.png", full_page=True)
        browser.close()


def _submit(page: Page, base: str, token: str, filename: str, code: str, name: str) -> None:
    page.goto(f"{base}/submit")
    page.get_by_label("Token").fill(token)
    page.get_by_label("Loss file").set_input_files(
        {"name": filename, "mimeType": "text/x-python", "buffer": code.encode()}
    )
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="Submit").click()


def _admin(env: dict[str, str], folder: str, *args: str) -> str:
    command = [sys.executable, "-m", "cli.main", "admin", *args]
    return subprocess.run(command, env=env, cwd=folder, capture_output=True, text=True, check=True).stdout


def _wait_for_final(base: str, count: int) -> None:
    """Until `count` entries are on the board with every trial done (none provisional)."""
    deadline = time.monotonic() + TRAINING_SECONDS
    while time.monotonic() < deadline:
        try:
            entries = httpx.get(f"{base}/api/leaderboard", timeout=10).json()["data"]
            if sum(not entry["provisional"] for entry in entries) >= count:
                return
        except httpx.TransportError:
            pass  # the server is still starting
        time.sleep(2)
    raise SystemExit(f"the service losses did not all finish their trials within {TRAINING_SECONDS} s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    main()
