"""A loss that changes torch's process-wide settings (threads, default dtype, deterministic algorithms, denormals,
rounding), at import, in __init__ or in compute_loss, fails its run as the loss's fault with one line naming the
setting: the sandbox fixes them before the file runs and would otherwise compute other numbers than the trainer.
The files are under changing_settings/, each cross-entropy once it has changed its setting."""

from pathlib import Path

import pytest
import torch

from harness.contract import LossContractError
from sandbox.client import LossProcess
from tests.sandbox.conftest import PHASES, source_in_phase, train_smoke_suite

pytestmark = pytest.mark.slow

CHANGING_SETTINGS = Path(__file__).parent / "changing_settings"
# What each file's failure must name. Inter-op threads are set once and for all before the file runs: torch itself
# refuses to change them again.
CHANGED = {
    "threads": "threads from 1 to 2",
    "default_dtype": "default_dtype from torch.float32 to torch.float64",
    "deterministic": "deterministic_algorithms from False to True",
    "flush_denormal": "floating_point from 'rounding to nearest, denormals kept' to "
    "'rounding to nearest, denormals flushed to zero'",
    "rounding": "floating_point from 'rounding to nearest, denormals kept' to 'rounding not to nearest, ",
    "interop_threads": "cannot set number of interop threads",
}


def test_every_file_has_its_expected_failure():
    assert {path.stem for path in CHANGING_SETTINGS.glob("*.py")} == set(CHANGED)


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("name", sorted(CHANGED))
def test_a_loss_that_changes_a_process_wide_setting_fails_as_the_losss_fault_naming_it(
    name, phase, smoke_splits, sandbox_config
):
    source = source_in_phase(CHANGING_SETTINGS / f"{name}.py", phase)
    with pytest.raises(LossContractError) as failure:
        train_smoke_suite(source, smoke_splits, sandbox_config)
    message = str(failure.value)
    assert CHANGED[name] in message
    assert "\n" not in message
    if name != "interop_threads":
        culprit = "compute_loss at epoch 0" if phase == "compute_loss" else "importing the file or RobustLoss()"
        assert message.startswith(f"custom_robust_loss.py: {culprit} changed torch's process-wide settings")


def test_the_loss_process_computes_with_the_trainers_cpu_capability(sandbox_config, minibatch):
    probe = (
        "import torch\nimport torch.nn.functional as F\n\n"
        "class RobustLoss:\n    def compute_loss(self, logits, labels, epoch):\n"
        "        raise RuntimeError(torch.backends.cpu.get_cpu_capability())\n"
    )
    with LossProcess.start(probe, sandbox_config) as loss_process, pytest.raises(LossContractError) as failure:
        loss_process.call(*minibatch, 0)
    assert str(failure.value).endswith(f"RuntimeError: {torch.backends.cpu.get_cpu_capability()}")
