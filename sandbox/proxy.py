"""The trainer's side of the trust boundary: a LossFn whose forward and backward cross to the loss process.

The trainer's code stays the same as for an in-process loss: `loss = loss_fn(logits, labels, epoch)`, then
`loss.backward()`. Forward sends the detached logits and receives the loss and its gradient with respect to
the logits; backward hands that gradient to autograd. Mathematically this is the in-process computation.

On CUDA the loss value is made on the device by a fill, not copied there (a copy from pageable memory would
synchronise a second time), and the gradient, in pinned memory, goes to the device without blocking: the
caching host allocator keeps its block until that copy has run (LossProcess.call says the rest of a step).
"""

import contextlib
from collections.abc import Iterator

import torch

from harness.contract import DEFAULT_FILENAME, LossFn
from sandbox.client import LossProcess
from sandbox.config import SandboxConfig


class _ConfinedLoss(torch.autograd.Function):
    """loss(logits) computed in the loss process; its gradient was computed there in the same round trip."""

    @staticmethod
    def forward(ctx, logits: torch.Tensor, labels: torch.Tensor, epoch: int, loss_process: LossProcess):
        value, gradient = loss_process.call(logits, labels, epoch)
        ctx.gradient = gradient
        return torch.full((), value, dtype=logits.dtype, device=logits.device)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        gradient = ctx.gradient.to(grad_output.device, grad_output.dtype, non_blocking=True)
        return grad_output * gradient, None, None, None


@contextlib.contextmanager
def open_sandboxed_loss(
    source: str, config: SandboxConfig, filename: str = DEFAULT_FILENAME
) -> Iterator[LossFn]:
    """The file's compute_loss as a LossFn, run in a loss process confined as `config` says, killed on exit.

    Raises LossContractError for the file's faults and SandboxUnavailableError when the sandbox cannot start.
    """
    with LossProcess.start(source, config, filename) as loss_process:

        def loss_fn(logits: torch.Tensor, labels: torch.Tensor, epoch: int) -> torch.Tensor:
            return _ConfinedLoss.apply(logits, labels, epoch, loss_process)

        yield loss_fn
