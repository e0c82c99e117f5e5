"""Hostile: spins the CPU forever inside compute_loss."""


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        while True:
            pass
