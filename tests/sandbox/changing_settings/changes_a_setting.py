"""Changing settings: runs CHANGE, a statement that changes one of torch's process-wide settings, then is
cross-entropy.

The tests set CHANGE to each setting's statement and PHASE to when it runs: at import, in __init__ or in every
compute_loss (tests/sandbox/test_process_settings.py).
"""

import ctypes  # noqa: F401 (CHANGE may call the C library)

import torch  # noqa: F401 (CHANGE may call torch)
import torch.nn.functional as F

PHASE = "compute_loss"
CHANGE = "torch.set_num_threads(2)"


def change() -> None:
    exec(CHANGE)


if PHASE == "import":
    change()


class RobustLoss:
    def __init__(self):
        if PHASE == "init":
            change()

    def compute_loss(self, logits, labels, epoch):
        if PHASE == "compute_loss":
            change()
        return F.cross_entropy(logits, labels)
