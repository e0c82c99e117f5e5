"""Hostile: returns one loss per sample instead of a scalar."""

import torch.nn.functional as F


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        return F.cross_entropy(logits, labels, reduction="none")
