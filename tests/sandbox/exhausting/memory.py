"""Exhausting: reserves address space until the next reservation fails, keeps it, then is cross-entropy.

Untouched anonymous mappings count against RLIMIT_AS, the loss process's memory limit, as fully as touched ones,
without taking the host's memory: halving chunks from 1 GiB down to one page leaves less than a page free.
PHASE says when: at import, in __init__ or at the first compute_loss.
"""

import mmap

import torch.nn.functional as F

PHASE = "compute_loss"


def exhaust() -> list:
    held, chunk = [], 2**30
    while chunk >= mmap.PAGESIZE:
        try:
            held.append(mmap.mmap(-1, chunk))
        except OSError:  # ENOMEM past RLIMIT_AS
            chunk //= 2
    return held


HELD = exhaust() if PHASE == "import" else []


class RobustLoss:
    def __init__(self):
        self.held = exhaust() if PHASE == "init" else []

    def compute_loss(self, logits, labels, epoch):
        if PHASE == "compute_loss" and not self.held:
            self.held = exhaust()
        return F.cross_entropy(logits, labels)
