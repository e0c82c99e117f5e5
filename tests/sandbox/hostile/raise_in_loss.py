"""Hostile: raises inside compute_loss."""


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        raise ValueError("no loss for you")
