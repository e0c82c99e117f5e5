"""The out-of-process loss is the in-process one: same losses and gradients, through the trainer's calls;
and the limits of a run that hold whatever the loss does."""

import os
from pathlib import Path

import pytest
import torch

from harness.contract import LossContractError
from harness.loss_file import load_loss
from harness.losses import BASELINES, loss_path
from sandbox.config import SandboxConfig, SandboxMode
from sandbox.proxy import open_sandboxed_loss

pytestmark = pytest.mark.slow

HOSTILE = Path(__file__).parent / "hostile"
EPOCHS = (0, 50, 99)
BATCH_SIZES = (128, 37, 128)  # a full minibatch, a last partial one, a full one again


def _minibatches(classes: int):
    generator = torch.Generator().manual_seed(classes)
    for epoch, batch in zip(EPOCHS, BATCH_SIZES, strict=True):
        logits = 3 * torch.randn(batch, classes, generator=generator)
        yield logits, torch.randint(classes, (batch,), generator=generator), epoch


@pytest.mark.parametrize("baseline", BASELINES)
def test_each_baseline_gives_the_same_losses_and_gradients_in_and_out_of_process(baseline, sandbox_config):
    source = loss_path(baseline).read_text()
    in_process = load_loss(source)
    with open_sandboxed_loss(source, sandbox_config) as confined:
        for classes in (10, 100):
            for logits, labels, epoch in _minibatches(classes):
                expected_logits = logits.clone().requires_grad_()
                expected = in_process(expected_logits, labels, epoch)
                expected.backward()
                confined_logits = logits.clone().requires_grad_()
                loss = confined(confined_logits, labels, epoch)
                loss.backward()
                assert loss.dtype == expected.dtype and loss.shape == ()
                torch.testing.assert_close(loss, expected)
                torch.testing.assert_close(confined_logits.grad, expected_logits.grad)


def test_the_gradient_flows_on_into_the_model_scaled_like_any_other_loss(sandbox_config):
    source = loss_path("cross_entropy").read_text()
    model, inputs, labels = torch.nn.Linear(6, 10), torch.randn(16, 6), torch.randint(10, (16,))
    (3 * load_loss(source)(model(inputs), labels, 0)).backward()
    expected = model.weight.grad.clone()
    model.zero_grad()
    with open_sandboxed_loss(source, sandbox_config) as confined:
        (3 * confined(model(inputs), labels, 0)).backward()
    torch.testing.assert_close(model.weight.grad, expected)


def test_a_loss_that_spends_its_runs_time_budget_fails_the_run(sandbox_config, minibatch):
    slow = (
        "import time\n"
        "class RobustLoss:\n"
        "    def compute_loss(self, logits, labels, epoch):\n"
        "        time.sleep(0.4)\n"
        "        return logits.sum()\n"
    )
    config = SandboxConfig(run_timeout=1.0, call_timeout=sandbox_config.call_timeout)
    over_budget = pytest.raises(LossContractError, match=r"used up the whole run's 1 s at epoch \d")
    with over_budget, open_sandboxed_loss(slow, config) as loss_fn:
        for epoch in range(10):
            loss_fn(*minibatch, epoch)


def test_a_loss_past_its_cpu_time_limit_is_killed_with_that_reason(minibatch):
    spin = (HOSTILE / "cpu_spin.py").read_text()
    # Starting Python and importing torch take about 3 of the 8 CPU-seconds; the call may take a minute.
    config = SandboxConfig(cpu_seconds=8, call_timeout=60.0)
    killed = pytest.raises(
        LossContractError, match="died in compute_loss at epoch 0: it used up its CPU-time"
    )
    with killed, open_sandboxed_loss(spin, config) as loss_fn:
        loss_fn(*minibatch, 0)


def test_with_the_sandbox_off_the_same_protocol_runs_unconfined_with_the_callers_rights(
    sandbox_config, minibatch
):
    probe = (
        "import os\n"
        "class RobustLoss:\n"
        "    def compute_loss(self, logits, labels, epoch):\n"
        "        raise RuntimeError(f'uid={os.getuid()}')\n"
    )
    config = SandboxConfig(mode=SandboxMode.OFF, call_timeout=sandbox_config.call_timeout)
    unconfined = pytest.raises(LossContractError, match=f"uid={os.getuid()}$")
    with unconfined, open_sandboxed_loss(probe, config) as loss_fn:
        loss_fn(*minibatch, 0)
