"""Exhausting: reserves address space until the next reservation fails, keeps it, then is cross-entropy.

Untouched anonymous mappings count against RLIMIT_AS, the loss process's memory limit, as fully as touched ones,
without taking the host's memory: halving chunks from 1 GiB down to one page leaves less than a page free.
"""

import mmap

import torch.nn.functional as F


class RobustLoss:
    def __init__(self):
        self.held = []

    def compute_loss(self, logits, labels, epoch):
        if not self.held:
            chunk = 2**30
            while chunk >= mmap.PAGESIZE:
                try:
                    self.held.append(mmap.mmap(-1, chunk))
                except OSError:  # ENOMEM past RLIMIT_AS
                    chunk //= 2
        return F.cross_entropy(logits, labels)
