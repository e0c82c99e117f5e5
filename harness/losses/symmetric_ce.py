"""Baseline: symmetric cross-entropy (Wang et al., 2019), alpha * CE + beta * reverse CE."""

import torch
import torch.nn.functional as F


class RobustLoss:
    # The original harness's code uses alpha 1.0, beta 0.5 (its task text said 0.1 / 1.0; the code made the table).
    alpha = 1.0
    beta = 0.5
    min_probability = 1e-8
    min_one_hot = 1e-4  # log(0) of the one-hot target is clamped to log(1e-4)

    def compute_loss(self, logits, labels, epoch):
        cross_entropy = F.cross_entropy(logits, labels)
        probabilities = torch.softmax(logits, dim=1).clamp(min=self.min_probability)
        one_hot = F.one_hot(labels, logits.shape[1]).float().clamp(min=self.min_one_hot)
        reverse_cross_entropy = -(probabilities * torch.log(one_hot)).sum(dim=1).mean()
        return self.alpha * cross_entropy + self.beta * reverse_cross_entropy
