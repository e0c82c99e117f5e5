"""Exhausting: opens files until the loss process has no descriptor left, keeps them, then is cross-entropy.

PHASE says when: at import, in __init__ or at the first compute_loss (tests/sandbox/test_resource_exhaustion.py
runs each).
"""

import torch.nn.functional as F

PHASE = "compute_loss"


def exhaust() -> list:
    held = []
    try:
        while True:
            held.append(open("/dev/null", "rb"))  # noqa: SIM115 (held open on purpose)
    except OSError:  # EMFILE at the RLIMIT_NOFILE limit
        return held


HELD = exhaust() if PHASE == "import" else []


class RobustLoss:
    def __init__(self):
        self.held = exhaust() if PHASE == "init" else []

    def compute_loss(self, logits, labels, epoch):
        if PHASE == "compute_loss" and not self.held:
            self.held = exhaust()
        return F.cross_entropy(logits, labels)
