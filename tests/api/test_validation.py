"""The sandbox's check as the API runs it: a subprocess whose verdict becomes a 422, or a 503 if it fails."""

import json
import os
import subprocess
import sys

import pytest

from api.intake import DEFAULT_FILENAME, MAX_FILENAME_CHARACTERS, upload_filename
from api.validation import CheckUnavailableError, SandboxCheck

SYNTAX_ERROR = "class RobustLoss:\n    def compute_loss(self, logits, labels, epoch)\n"
NO_ROBUST_LOSS = "import torch\n"


def _answer(monkeypatch, returncode: int, stdout: str) -> None:
    def run(command, **_kwargs):
        assert command[:3] == [sys.executable, "-m", "sandbox.check"] and command[-1] == "--json"
        return subprocess.CompletedProcess(
            command, returncode, stdout, "bwrap: setting up uid map: Permission denied"
        )

    monkeypatch.setattr(subprocess, "run", run)


def test_a_negative_verdict_carries_the_checkers_message(monkeypatch):
    _answer(monkeypatch, 0, json.dumps({"ok": False, "error": "line 2: syntax error", "sha256": "ab"}))
    verdict = SandboxCheck(timeout=5)("code", "loss.py")
    assert not verdict.ok and verdict.error == "line 2: syntax error"


@pytest.mark.parametrize(("returncode", "stdout"), [(1, ""), (0, "not json"), (0, "{}")])
def test_a_checker_that_cannot_start_or_answer_is_unavailable(monkeypatch, returncode, stdout):
    _answer(monkeypatch, returncode, stdout)
    with pytest.raises(CheckUnavailableError):
        SandboxCheck(timeout=5)("code", "loss.py")


def test_a_checker_that_hangs_is_unavailable(monkeypatch):
    def hang(command, **kwargs):
        raise subprocess.TimeoutExpired(command, kwargs["timeout"])

    monkeypatch.setattr(subprocess, "run", hang)
    with pytest.raises(CheckUnavailableError, match="did not finish within 5 s"):
        SandboxCheck(timeout=5)("code", "loss.py")


def test_the_check_can_run_below_the_apis_cpu_priority():
    reports_its_policy = "import os\nraise RuntimeError(f'policy {os.sched_getscheduler(0)}')\n"
    verdict = SandboxCheck(timeout=60, idle=True)(reports_its_policy, "loss.py")
    assert f"policy {os.SCHED_IDLE}" in verdict.error


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
