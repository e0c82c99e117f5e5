"""Validation before queueing: each way a file can be wrong gets one precise message; the baselines pass."""

import hashlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main as poisonbench
from harness.contract import DEFAULT_FILENAME, MAX_FILE_BYTES, SUBMISSION_TEMPLATE
from harness.loss_file import decode_loss_source, sha256_of
from harness.losses import BASELINES, loss_path
from sandbox.check import check_submission

pytestmark = pytest.mark.slow

HOSTILE = Path(__file__).parent / "hostile"
CHECK_SECONDS = 120  # a cold check on two busy cores; about 3 s on idle ones
HEADER = "import torch\nimport torch.nn.functional as F\n"


def _loss(body: str) -> bytes:
    """A file whose compute_loss has `body` (indented by the caller's own 8 spaces)."""
    return (
        HEADER + "class RobustLoss:\n    def compute_loss(self, logits, labels, epoch):\n" + body
    ).encode()


# Each invalid file and the message check gives it.
INVALID = {
    "too_large": (b"#" * (MAX_FILE_BYTES + 1), "65,537 bytes is over the 65,536-byte limit"),
    "not_utf8": (b"class RobustLoss:\n    pass  # \xff\n", "not UTF-8 text \\(byte 30 is 0xff\\)"),
    "syntax_error": (b"class RobustLoss:\n    def compute_loss(self:\n", "line 2: syntax error"),
    "no_class": (
        b"def compute_loss(logits, labels, epoch):\n    return logits.sum()\n",
        "defines no class RobustLoss",
    ),
    "constructor_arguments": (
        b"class RobustLoss:\n    def __init__(self, q):\n        self.q = q\n"
        b"    def compute_loss(self, logits, labels, epoch):\n        return logits.sum()\n",
        "RobustLoss\\(\\) raised TypeError.*the constructor must take no arguments",
    ),
    "wrong_signature": (
        b"class RobustLoss:\n    def compute_loss(self, logits, labels):\n        return logits.sum()\n",
        "line 2: RobustLoss.compute_loss\\(self, logits, labels\\) cannot be called as",
    ),
    "not_a_tensor": (_loss("        return 1.0\n"), "must return a torch.Tensor, got float"),
    "nan_at_the_last_epoch": (
        _loss("        return F.cross_entropy(logits, labels) / (99 - epoch)\n"),
        "NaN or infinite loss at epoch 99",
    ),
    "only_ten_classes": (
        _loss("        return -(F.one_hot(labels, 10) * logits.log_softmax(1)).sum(1).mean()\n"),
        "line 5: compute_loss raised RuntimeError",
    ),
    "fakes_the_sandboxs_check": (  # the in-sandbox check is its own code to patch; the trusted side's is not
        _loss("        import harness.contract\n        return (logits * 0).sum()\n"),
        "gradient was zero on every dry-run minibatch",
    ),
    "slow": (
        _loss("        import time\n        time.sleep(60)\n"),
        "took more than 1 s on one minibatch at epoch 0",
    ),
    "memory_then_slow": (  # fills 512 MiB, page by page, then waits: its time runs out before its memory does
        _loss("        import time\n        self.hoard = torch.ones(2**27)\n        time.sleep(60)\n"),
        r"took more than 1 s on one minibatch at epoch 0, while taking memory: it took 0\.[5-9] GiB",
    ),
}


@pytest.fixture(scope="module")
def verdicts(sandbox_config, in_parallel) -> dict:
    files = {name: raw for name, (raw, _) in INVALID.items()}
    files |= {baseline: loss_path(baseline).read_bytes() for baseline in BASELINES}
    results = in_parallel(lambda raw: check_submission(raw, sandbox_config), files.values())
    return dict(zip(files, results, strict=True))


@pytest.mark.parametrize("baseline", BASELINES)
def test_every_baseline_passes_the_check(verdicts, baseline):
    assert verdicts[baseline].ok, verdicts[baseline].error
    assert verdicts[baseline].sha256 == hashlib.sha256(loss_path(baseline).read_bytes()).hexdigest()


@pytest.mark.parametrize("name", sorted(INVALID))
def test_an_invalid_file_gets_one_precise_message(verdicts, name):
    verdict = verdicts[name]
    assert not verdict.ok
    assert verdict.error.startswith("custom_robust_loss.py")
    assert re.search(INVALID[name][1], verdict.error), verdict.error


def test_a_file_without_the_class_is_shown_the_template(verdicts):
    assert SUBMISSION_TEMPLATE in verdicts["no_class"].error


@pytest.mark.parametrize("loss_file", ["custom_robust_loss.py", "-"])
def test_python_m_sandbox_check_prints_a_json_verdict_and_exits_0_either_way(tmp_path, loss_file):
    raw = (HOSTILE / "raise_in_loss.py").read_bytes()
    (tmp_path / "custom_robust_loss.py").write_bytes(raw)
    command = [sys.executable, "-m", "sandbox.check", loss_file, "--json"]
    done = subprocess.run(command, input=raw, cwd=tmp_path, capture_output=True, timeout=CHECK_SECONDS)
    assert done.returncode == 0, done.stderr
    verdict = json.loads(done.stdout)
    assert verdict["ok"] is False
    assert (
        verdict["error"] == "custom_robust_loss.py, line 6: compute_loss raised ValueError: no loss for you"
    )
    assert verdict["sha256"] == hashlib.sha256(raw).hexdigest()


def test_poisonbench_check_prints_ok_and_the_sha256_the_service_stores_for_a_valid_file_with_exit_0(capsys):
    valid = loss_path("generalized_ce")
    assert poisonbench(["check", str(valid), "--sandbox", "off"]) == 0
    stored = sha256_of(decode_loss_source(valid.read_bytes(), DEFAULT_FILENAME))  # as the API stores it
    assert capsys.readouterr().out == f"ok: {valid} (sha256 {stored})\n"


def test_poisonbench_check_prints_the_files_one_error_with_exit_2_for_an_invalid_one(tmp_path, capsys):
    invalid = tmp_path / "mine.py"
    invalid.write_bytes(INVALID["syntax_error"][0])
    assert poisonbench(["check", str(invalid)]) == 2
    assert capsys.readouterr().out == f"{invalid}, line 2: syntax error: '(' was never closed\n"


def test_poisonbench_check_reads_stdin_and_gives_the_apis_verdict_and_sha256(monkeypatch, capsys):
    valid = loss_path("generalized_ce").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(valid)))
    assert poisonbench(["check", "-"]) == 0
    assert capsys.readouterr().out == f"ok: - (sha256 {sha256_of(valid.decode())})\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(INVALID["no_class"][0])))
    assert poisonbench(["check", "-"]) == 2
    assert capsys.readouterr().out.startswith(f"{DEFAULT_FILENAME}: defines no class RobustLoss")
