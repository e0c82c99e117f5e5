"""`poisonbench run` and `poisonbench benchmarks` as a user calls them: a result file, or one clear line."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.losses import loss_path

pytestmark = pytest.mark.slow

BAD_FILES = {
    "syntax.py": ("class RobustLoss:\n    def compute_loss(self, logits, labels, epoch)\n", "line 2: syntax error"),
    "noclass.py": ("import torch\n", "defines no class RobustLoss"),
    "signature.py": (
        "class RobustLoss:\n    def compute_loss(self, logits):\n        return logits.sum()\n",
        "cannot be called as compute_loss(self, logits, labels, epoch)",
    ),
    "nonscalar.py": (
        "class RobustLoss:\n    def compute_loss(self, logits, labels, epoch):\n        return logits.sum(dim=1)\n",
        "must return a scalar loss",
    ),
    "nan.py": (
        "class RobustLoss:\n    def compute_loss(self, logits, labels, epoch):\n"
        "        return logits.sum() * float('nan')\n",
        "NaN or infinite loss at epoch 0",
    ),
}


SMOKE_RUN = (
    "run",
    str(loss_path("generalized_ce")),
    "--benchmark",
    "mobilenetv2-fmnist-labelflip",
    "--suite",
    "smoke",
    "--sandbox",
    "off",
)


def poisonbench(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_run_writes_a_result_json_for_a_smoke_benchmark_showing_each_epoch_under_a_bar_with_an_eta(tmp_path):
    out = tmp_path / "result.json"
    done = poisonbench(*SMOKE_RUN, "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(f"the result JSON will be written to {out}\n")
    assert "smoke/mobilenetv2-fmnist-labelflip: test_acc" in done.stdout
    assert "warning: --sandbox off" in done.stderr
    result = json.loads(out.read_text())
    assert result["benchmark"]["suite"] == "smoke" and result["seed"] == 42 and result["poison_seed"] == 42
    curve = result["curve"]
    epoch_lines = [line for line in done.stdout.splitlines() if line.startswith("epoch ")]
    assert epoch_lines == [
        f"epoch {r['epoch'] + 1}/2  test_acc {r['test_acc']:.4f}  poison_fit {r['poison_fit']:.4f}  "
        f"train_loss {r['train_loss']:.4f}"
        for r in curve
    ]
    # tqdm redraws the bar with "\r"; after the first epoch it shows elapsed<remaining, e.g. [00:03<00:03, ...]
    bar = done.stderr.replace("\r", "\n").splitlines()
    assert any(re.search(r"smoke/mobilenetv2-fmnist-labelflip: +50%.* 1/2 \[\d\d:\d\d<\d\d:\d\d", s) for s in bar)


def test_run_without_out_says_before_training_that_nothing_is_saved(tmp_path):
    done = poisonbench(*SMOKE_RUN, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("no --out: the result JSON (metrics, curve, provenance) is not saved\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_loss_file_gives_one_line_and_no_traceback(tmp_path, name):
    source, message = BAD_FILES[name]
    (tmp_path / name).write_text(source)
    done = poisonbench(
        "run", name, "--benchmark", "resnet20-cifar10-labelflip", "--suite", "smoke", "--sandbox", "off", cwd=tmp_path
    )
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("poisonbench run:")]
    assert len(errors) == 1 and message in errors[0], done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_loss_file_and_a_missing_dataset_are_named(tmp_path):
    done = poisonbench(
        "run",
        "absent.py",
        "--benchmark",
        "resnet20-cifar10-labelflip",
        "--suite",
        "smoke",
        "--sandbox",
        "off",
        cwd=tmp_path,
    )
    assert done.returncode == 2 and "absent.py: no such file" in done.stderr
    done = poisonbench(
        "run",
        str(loss_path("cross_entropy")),
        "--benchmark",
        "resnet20-cifar10-labelflip",
        "--suite",
        "official",
        "--data-root",
        str(tmp_path / "nowhere"),
        "--sandbox",
        "off",
        cwd=tmp_path,
    )
    assert done.returncode == 2 and "poisonbench data download" in done.stderr and "Traceback" not in done.stderr


def test_benchmarks_lists_every_suite(tmp_path):
    done = poisonbench("benchmarks", cwd=tmp_path)
    assert done.returncode == 0
    for suite in ("official", "proxy", "smoke"):
        assert f"{suite} " in done.stdout
    assert done.stdout.count("vgg16bn-cifar100-labelflip") == 3
