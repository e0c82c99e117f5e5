"""`poisonbench data download` names what went wrong instead of printing a traceback."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_an_unknown_dataset_is_refused_with_the_known_names(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "data", "download", "mnist", "--data-root", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "unknown dataset 'mnist'; choose one of: cifar10, cifar100, fashionmnist" in done.stderr
    assert "Traceback" not in done.stderr
