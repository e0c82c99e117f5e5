"""Changing settings: rounds every floating-point result upward, through the C library, then is cross-entropy.

PHASE says when: at import, in __init__ or in every compute_loss (tests/sandbox/test_process_settings.py runs each).
"""

import ctypes

import torch.nn.functional as F

PHASE = "compute_loss"
FE_UPWARD = 0x800  # <fenv.h> on x86-64


def change() -> None:
    ctypes.CDLL("libm.so.6").fesetround(FE_UPWARD)


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
