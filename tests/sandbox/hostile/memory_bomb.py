"""Hostile: asks for ever larger blocks of memory until one is refused (or the machine runs out)."""

import torch


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        hoard, floats = [], 2**28  # 1 GiB
        while True:
            hoard.append(torch.empty(floats))
            floats *= 2
