"""The submission contract, written once: what a RobustLoss file must define and what compute_loss must return.

The trainer, the sandbox's proxy and `poisonbench check` all refer to this module.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor

# The one seam between the trainer and a loss: (logits (B, C) float32, labels (B,) int64, epoch) -> scalar loss.
# `epoch` is 0-indexed on the official 100-epoch scale (harness.registry.OFFICIAL_EPOCHS).
LossFn = Callable[["Tensor", "Tensor", int], "Tensor"]

CLASS_NAME = "RobustLoss"
METHOD_NAME = "compute_loss"
METHOD_PARAMETERS = ("logits", "labels", "epoch")
MAX_FILE_BYTES = 64 * 1024  # a loss is one short file; larger uploads are refused before anything runs
DEFAULT_FILENAME = "custom_robust_loss.py"  # the name messages cite a loss file by when it was sent without one

SUBMISSION_TEMPLATE = f"""\
class {CLASS_NAME}:
    def __init__(self): ...
    def {METHOD_NAME}(self, {", ".join(METHOD_PARAMETERS)}):  # -> scalar loss tensor
"""


class LossContractError(Exception):
    """The submitted loss broke the contract: the participant's fault, final, reported to them verbatim."""


def check_loss_value(loss: object, logits: "Tensor") -> None:
    """Check what compute_loss returned, without a host synchronisation (only metadata is read)."""
    import torch

    if not isinstance(loss, torch.Tensor):
        raise LossContractError(f"{METHOD_NAME} must return a torch.Tensor, got {type(loss).__name__}")
    if loss.numel() != 1:
        raise LossContractError(
            f"{METHOD_NAME} must return a scalar loss, got a tensor of shape {tuple(loss.shape)}; reduce it, "
            "e.g. with .mean()"
        )
    if not loss.is_floating_point():
        raise LossContractError(f"{METHOD_NAME} must return a floating-point loss, got dtype {loss.dtype}")
    if logits.requires_grad and loss.grad_fn is None:
        raise LossContractError(
            f"{METHOD_NAME} returned a loss that does not depend on the logits (no gradient flows back); "
            "compute it from `logits` without .detach(), .item() or numpy"
        )


def non_finite_loss_error(epoch: int) -> LossContractError:
    return LossContractError(f"{METHOD_NAME} returned a NaN or infinite loss at epoch {epoch}")
