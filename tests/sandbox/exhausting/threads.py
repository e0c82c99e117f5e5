"""Exhausting: starts threads until no more can start, keeps them waiting, then is cross-entropy.

PHASE says when: at import, in __init__ or at the first compute_loss.
"""

import threading

import torch.nn.functional as F

PHASE = "compute_loss"
RELEASE = threading.Event()  # never set: the threads wait for the life of the process


def exhaust() -> list:
    held = []
    try:
        while True:
            thread = threading.Thread(target=RELEASE.wait, daemon=True)
            thread.start()
            held.append(thread)
    except RuntimeError:  # "can't start new thread": out of address space for stacks, or of tasks
        return held


HELD = exhaust() if PHASE == "import" else []


class RobustLoss:
    def __init__(self):
        self.held = exhaust() if PHASE == "init" else []

    def compute_loss(self, logits, labels, epoch):
        if PHASE == "compute_loss" and not self.held:
            self.held = exhaust()
        return F.cross_entropy(logits, labels)
