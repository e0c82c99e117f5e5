"""The shared-memory exchange (sandbox/protocol.py): the loss process gets no new descriptor per step, cannot
touch the trusted side's buffer, and a gradient written out of turn or a minibatch too large is refused."""

import time

import pytest
import torch

from harness.contract import LossContractError
from harness.losses import loss_path
from sandbox.client import LossProcess
from sandbox.protocol import ExchangeCapacity

pytestmark = pytest.mark.slow

CROSS_ENTROPY = loss_path("cross_entropy").read_text()
# Writes its gradient buffer once, a moment after answering the first step: while the trainer has the turn.
LATE_WRITER = """
import ctypes, threading, time
import torch.nn.functional as F

def scribble_later():
    time.sleep(0.2)
    for line in open('/proc/self/maps'):
        if 'poisonbench-loss-gradient' in line:
            ctypes.memset(int(line.split('-')[0], 16), 0x7F, 64)

class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        if epoch == 0:
            threading.Thread(target=scribble_later, daemon=True).start()
        return F.cross_entropy(logits, labels)
"""
# Lists its open descriptors at every step, and says what it saw at the last one.
DESCRIPTOR_COUNTER = """
import os
import torch.nn.functional as F

class RobustLoss:
    counts = []

    def compute_loss(self, logits, labels, epoch):
        self.counts.append(len(os.listdir('/proc/self/fd')))
        if epoch == 9:
            raise RuntimeError(f'descriptors={self.counts}')
        return F.cross_entropy(logits, labels)
"""
TRAINERS_TURN_SECONDS = 3.0  # the late writer's 0.2 s, with room for a loaded machine to schedule its thread


def test_a_gradient_written_while_the_trainer_has_the_turn_fails_the_run(sandbox_config, minibatch):
    with LossProcess.start(LATE_WRITER, sandbox_config) as loss_process:
        loss_process.call(*minibatch, epoch=0)
        time.sleep(TRAINERS_TURN_SECONDS)
        with pytest.raises(LossContractError, match="wrote its gradient buffer between steps"):
            loss_process.call(*minibatch, epoch=1)


def test_a_step_opens_no_descriptor_in_the_loss_process(sandbox_config, minibatch):
    with LossProcess.start(DESCRIPTOR_COUNTER, sandbox_config) as loss_process:
        for epoch in range(9):
            loss_process.call(*minibatch, epoch=epoch)
        with pytest.raises(LossContractError, match=r"descriptors=\[\d+(, \d+){9}\]") as failure:
            loss_process.call(*minibatch, epoch=9)
    counts = str(failure.value).rsplit("[", 1)[1].rstrip("]").split(", ")
    assert len(set(counts)) == 1, counts


def test_an_honest_loss_leaves_its_gradient_buffer_alone_between_steps(sandbox_config, minibatch):
    with LossProcess.start(CROSS_ENTROPY, sandbox_config) as loss_process:
        for epoch in range(3):
            loss_process.call(*minibatch, epoch=epoch)
            time.sleep(0.1)


def test_the_gradient_returned_is_the_trainers_own_copy_not_a_view_of_the_shared_buffer(sandbox_config):
    logits, labels = torch.randn(8, 10), torch.randint(10, (8,))
    with LossProcess.start(CROSS_ENTROPY, sandbox_config) as loss_process:
        _, first = loss_process.call(logits, labels, epoch=0)
        kept = first.clone()
        loss_process.call(3 * logits, labels, epoch=1)  # a different gradient, in the same buffer
        assert torch.equal(first, kept)


def test_a_minibatch_larger_than_the_buffers_is_refused_before_it_reaches_the_loss(sandbox_config):
    capacity = ExchangeCapacity(batch=4, classes=10)
    with LossProcess.start(CROSS_ENTROPY, sandbox_config, capacity=capacity) as loss_process:
        with pytest.raises(ValueError, match=r"5 x 10 logits does not fit .*batch=4, classes=10"):
            loss_process.call(torch.randn(5, 10), torch.zeros(5, dtype=torch.int64), epoch=0)
        with pytest.raises(ValueError, match=r"4 x 11 logits does not fit"):
            loss_process.call(torch.randn(4, 11), torch.zeros(4, dtype=torch.int64), epoch=0)
        value, gradient = loss_process.call(torch.randn(4, 10), torch.zeros(4, dtype=torch.int64), epoch=0)
        assert gradient.shape == (4, 10)
