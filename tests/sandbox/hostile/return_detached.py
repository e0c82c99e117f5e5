"""Hostile: returns a loss cut off from the logits, so the model would never learn."""

import torch
import torch.nn.functional as F


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        return torch.tensor(F.cross_entropy(logits, labels).item())
