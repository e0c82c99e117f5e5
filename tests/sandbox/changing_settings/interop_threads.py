"""Changing settings: sets torch's inter-op threads to 2, then is cross-entropy.

PHASE says when: at import, in __init__ or in every compute_loss (tests/sandbox/test_process_settings.py runs each).
"""

import torch
import torch.nn.functional as F

PHASE = "compute_loss"


def change() -> None:
    torch.set_num_interop_threads(2)


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
