"""Hostile: never finishes importing."""

while True:
    pass


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        return logits.sum()
