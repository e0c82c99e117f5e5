"""A loss is charged for its own time only: time its process waited for a core that other work held does not
count against its per-call or per-run limit, while time it computes or sleeps does (sandbox/usage.py)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.contract import LossContractError
from sandbox.client import LossProcess
from sandbox.config import SandboxConfig

pytestmark = pytest.mark.slow  # starts confined loss processes and busy loops

CORE = 0
# Computes for this much of its own CPU time, then is cross-entropy.
COMPUTES_FOR = 0.3  # seconds
COMPUTING = (
    "import time\nimport torch.nn.functional as F\n\n"
    "class RobustLoss:\n    def compute_loss(self, logits, labels, epoch):\n"
    f"        start = time.thread_time()\n        while time.thread_time() - start < {COMPUTES_FOR}:\n"
    "            pass\n        return F.cross_entropy(logits, labels)\n"
)


SPINNERS = 2  # on the loss's core, at its priority: it gets a third of the core at most


@pytest.fixture
def busy_core():
    """Processes spinning on CORE, where the loss process is then moved: a host busy with other work."""
    spin = f"import os\nos.sched_setaffinity(0, {{{CORE}}})\nwhile True:\n    pass\n"
    spinners = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(SPINNERS)]

    def crowd(loss_process: LossProcess) -> None:
        os.sched_setaffinity(loss_process._usage.pid, {CORE})

    yield crowd
    for spinner in spinners:
        spinner.kill()
        spinner.wait()


def test_the_host_pid_watched_is_the_loss_processs_python(sandbox_config):
    with LossProcess.start_waiting(sandbox_config) as loss_process:
        command = Path(f"/proc/{loss_process._usage.pid}/cmdline").read_bytes().split(b"\0")
        assert b"sandbox.loss_process" in command
        assert loss_process._usage.waited_seconds() >= 0.0


def test_a_loss_slowed_by_a_busy_core_beyond_its_call_limit_is_not_charged_for_the_wait(busy_core, minibatch):
    limit = 1.5 * COMPUTES_FOR
    with LossProcess.start(COMPUTING, SandboxConfig(call_timeout=limit)) as loss_process:
        busy_core(loss_process)
        began = time.monotonic()
        loss_process.call(*minibatch, 0)
        took = time.monotonic() - began
        assert took > limit, f"the core was not busy enough to matter: the call took {took:.2f} s"
        assert COMPUTES_FOR <= loss_process.loss_seconds < limit


def test_a_loss_that_computes_past_its_call_limit_still_fails_on_a_busy_core(busy_core, minibatch):
    config = SandboxConfig(call_timeout=COMPUTES_FOR / 2)
    with LossProcess.start(COMPUTING, config) as loss_process:
        busy_core(loss_process)
        with pytest.raises(LossContractError, match="compute_loss took more than 0.15 s on one minibatch"):
            loss_process.call(*minibatch, 0)
