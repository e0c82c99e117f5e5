"""Hostile: returns NaN, which would silently wreck the model."""

import torch.nn.functional as F


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        return F.cross_entropy(logits, labels) * float("nan")
