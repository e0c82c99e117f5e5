"""The sandbox's check as the API runs it: warm processes whose verdict becomes a 422, or a 503 if one fails."""

import json
import os
import time
from pathlib import Path

import pytest

from api.intake import MAX_FILENAME_CHARACTERS, upload_filename
from api.validation import CheckPool, CheckUnavailableError, verdict_from
from harness.contract import DEFAULT_FILENAME
from settings import WORKER_NICENESS, Settings

pytestmark = pytest.mark.slow

SYNTAX_ERROR = "class RobustLoss:\n    def compute_loss(self, logits, labels, epoch)\n"
NO_ROBUST_LOSS = "import torch\n"
# Raised at import, inside the sandbox: the verdict quotes it, so the test reads how the check was scheduled.
REPORTS_ITS_PRIORITY = (
    "import os\nraise RuntimeError(f'nice {os.getpriority(os.PRIO_PROCESS, 0)} "
    "policy {os.sched_getscheduler(0)}')\n"
)
CHECK_SECONDS = 120  # a cold start on two busy cores takes tens of seconds; warm checks take a fraction of one


@pytest.fixture
def pool():
    pool = CheckPool(size=1, timeout=CHECK_SECONDS, niceness=Settings().check_niceness)
    yield pool
    pool.close()


def test_a_negative_verdict_carries_the_checkers_message(pool):
    verdict = pool(SYNTAX_ERROR, "trunc_gce.py")
    assert not verdict.ok and "trunc_gce.py, line 2: syntax error" in verdict.error


def test_each_process_checks_one_upload_and_a_replacement_is_already_warming(pool):
    pool.fill()
    first = pool._warm[0]
    assert pool(NO_ROBUST_LOSS, "mine.py").error.startswith("mine.py: defines no class RobustLoss")
    assert first.returncode == 0  # it exited after its one verdict
    assert len(pool._warm) == 1 and pool._warm[0] is not first and pool._warm[0].poll() is None


def test_an_upload_is_checked_by_a_process_whose_sandbox_was_up_before_it_arrived(pool):
    """The slow half of a check (Python and torch, twice) happens before the upload, not while it waits."""
    pool.fill()
    warm = pool._warm[0]
    deadline = time.monotonic() + CHECK_SECONDS
    while not _is_waiting_for_its_file(warm) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _is_waiting_for_its_file(warm)
    assert "syntax error" in pool(SYNTAX_ERROR, "loss.py").error
    assert warm.returncode == 0 and warm not in pool._warm


def _is_waiting_for_its_file(process) -> bool:
    """Its confined loss process is up (bubblewrap is its child) and it is blocked reading stdin."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    return bool(children) and "pipe" in Path(f"/proc/{process.pid}/wchan").read_text()  # e.g. anon_pipe_read


def test_the_check_runs_below_the_apis_priority_and_above_the_workers():
    niceness = Settings().check_niceness
    pool = CheckPool(size=1, timeout=CHECK_SECONDS, niceness=niceness)
    try:
        verdict = pool(REPORTS_ITS_PRIORITY, "loss.py")
    finally:
        pool.close()
    own = os.getpriority(os.PRIO_PROCESS, 0)
    assert f"nice {own + niceness} policy {os.SCHED_OTHER}" in verdict.error, verdict.error
    assert 0 < niceness < WORKER_NICENESS


def test_a_check_that_does_not_answer_in_time_is_unavailable_and_its_process_is_gone():
    pool = CheckPool(size=1, timeout=0.001, niceness=0)  # given no time even to be sent the file
    pool.fill()
    process = pool._warm[0]
    with pytest.raises(CheckUnavailableError, match="did not finish within 0.001 s"):
        pool(SYNTAX_ERROR, "loss.py")
    assert process.returncode is not None
    pool.close()


@pytest.mark.parametrize(
    ("returncode", "stdout"),
    [
        (3, json.dumps({"ok": False, "error": "bwrap: setting up uid map: Permission denied", "unavailable": True})),
        (1, ""),
        (0, "not json"),
        (0, "{}"),
    ],
)
def test_a_checker_that_cannot_start_or_answer_is_unavailable(returncode, stdout):
    with pytest.raises(CheckUnavailableError):
        verdict_from(returncode, stdout.encode(), b"")


@pytest.mark.parametrize(
    ("code", "message"), [(SYNTAX_ERROR, "syntax error"), (NO_ROBUST_LOSS, "RobustLoss")]
)
def test_uploads_the_real_sandbox_rejects_are_refused_with_its_message(client, auth, code, message):
    response = client.post(
        "/api/submissions", headers=auth, files={"file": ("loss.py", code)}, data={"name": "bad"}
    )
    assert response.status_code == 422 and message in response.json()["detail"]


@pytest.mark.parametrize(
    ("sent", "cited"),
    [
        ("C:\\Users\\ada\\gce_trunc.py", "gce_trunc.py"),  # the whole Windows path old browsers send
        ("../../etc/passwd.py", "passwd.py"),
    ],
)
def test_the_sandboxs_messages_cite_the_file_by_the_name_it_was_uploaded_with(client, auth, sent, cited):
    response = client.post(
        "/api/submissions", headers=auth, files={"file": (sent, SYNTAX_ERROR)}, data={"name": "bad"}
    )
    assert response.status_code == 422 and response.json()["detail"].startswith(f"{cited}, line 2: syntax error")


def test_a_file_that_is_not_utf8_is_cited_by_its_uploaded_name(client, auth):
    response = client.post(
        "/api/submissions", headers=auth, files={"file": ("mine.py", b"x = '\xe9'\n")}, data={"name": "bad"}
    )
    assert response.status_code == 422 and response.json()["detail"].startswith("mine.py: not UTF-8")


@pytest.mark.parametrize("sent", [None, "", "   ", "..", "/", "\x00\x01"])
def test_an_upload_without_a_usable_name_is_cited_by_the_default_name(sent):
    assert upload_filename(sent) == DEFAULT_FILENAME


def test_control_characters_are_left_out_of_a_cited_name():
    # Sent raw here: httpx, like browsers, percent-encodes them in the multipart header.
    assert upload_filename("trunc\x00\n\x1b.py") == "trunc.py"


def test_a_long_file_name_is_cut_to_fit_a_file_system_name():
    cited = upload_filename("é" * 300 + ".py")
    assert cited == "é" * MAX_FILENAME_CHARACTERS and len(cited.encode()) <= 255
