"""Baseline: generalized cross-entropy (Zhang & Sabuncu, 2018), mean of (1 - p_y^q) / q with q = 0.7."""

import torch


class RobustLoss:
    q = 0.7  # the original harness's constant
    min_probability = 1e-8  # p_y is clamped below before the power, as in the original

    def compute_loss(self, logits, labels, epoch):
        probabilities = torch.softmax(logits, dim=1)
        p_true = probabilities.gather(1, labels[:, None]).squeeze(1).clamp(min=self.min_probability)
        return ((1.0 - p_true**self.q) / self.q).mean()
