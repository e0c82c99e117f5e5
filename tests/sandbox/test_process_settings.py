"""A loss that changes torch's process-wide settings (threads, default dtype, deterministic algorithms, denormals,
rounding), at import, in __init__ or in compute_loss, fails its run as the loss's fault with one line naming the
setting: the sandbox fixes them before the file runs and would otherwise compute other numbers than the trainer.
One file, changing_settings/changes_a_setting.py, is cross-entropy once it has changed the setting it is given."""

from pathlib import Path

import pytest
import torch

from harness.contract import LossContractError
from sandbox.client import LossProcess
from tests.sandbox.conftest import PHASES, source_in_phase, train_smoke_suite

pytestmark = pytest.mark.slow

CHANGING_A_SETTING = Path(__file__).parent / "changing_settings" / "changes_a_setting.py"
CHANGE_LINE = 'CHANGE = "torch.set_num_threads(2)"'
FE_UPWARD = 0x800  # <fenv.h> on x86-64: round every floating-point result upward
# Each setting: the statement that changes it, and what the run's failure must name. Inter-op threads are set once
# and for all before the file runs: torch itself refuses to change them again.
CHANGES = {
    "threads": ("torch.set_num_threads(2)", "threads from 1 to 2"),  # a sum split in two rounds differently
    "default_dtype": ("torch.set_default_dtype(torch.float64)", "default_dtype from torch.float32 to torch.float64"),
    "deterministic": ("torch.use_deterministic_algorithms(True)", "deterministic_algorithms from False to True"),
    "flush_denormal": (
        "torch.set_flush_denormal(True)",
        "floating_point from 'rounding to nearest, denormals kept' to 'rounding to nearest, denormals flushed to zero'",
    ),
    "rounding": (
        f'ctypes.CDLL("libm.so.6").fesetround({FE_UPWARD})',
        "floating_point from 'rounding to nearest, denormals kept' to 'rounding not to nearest, ",
    ),
    "interop_threads": ("torch.set_num_interop_threads(2)", "cannot set number of interop threads"),
}


def changing(name: str, phase: str) -> str:
    """The loss file that changes setting `name` in `phase`."""
    source = source_in_phase(CHANGING_A_SETTING, phase)
    assert source.count(CHANGE_LINE) == 1, f"{CHANGING_A_SETTING.name} has no line {CHANGE_LINE}"
    return source.replace(CHANGE_LINE, f"CHANGE = {CHANGES[name][0]!r}")


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("name", sorted(CHANGES))
def test_a_loss_that_changes_a_process_wide_setting_fails_as_the_losss_fault_naming_it(
    name, phase, smoke_splits, sandbox_config
):
    with pytest.raises(LossContractError) as failure:
        train_smoke_suite(changing(name, phase), smoke_splits, sandbox_config)
    message = str(failure.value)
    assert CHANGES[name][1] in message
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
