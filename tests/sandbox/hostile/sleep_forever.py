"""Hostile: sleeps forever inside compute_loss, burning no CPU (the CPU-time limit alone would never fire)."""

import time


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        time.sleep(10**9)
