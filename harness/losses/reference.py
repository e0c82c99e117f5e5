"""PoisonBench's reference loss: generalized CE over the two classes a flipped label leaves possible.

A label y is either clean (true class y) or flipped (true class (y - 1) % C): the flip is known to be y -> (y + 1) % C.
After a GCE warm-up on y, each sample's loss becomes a mixture of GCE on y and GCE on y - 1, weighted by the model's
own detached belief between these two candidates, p[y-1] / (p[y] + p[y-1]); the mixture ramps in linearly. The true
class always gets a bounded loss, and a flipped sample the model already reads as y - 1 is no longer pulled toward y.
Design, constants and measurements: docs/reference-loss.md.
"""

import torch


class RobustLoss:
    q = 0.7  # GCE exponent of the baseline: bounded loss, robust to the flips not yet recognised
    warmup_epochs = 10  # GCE on y only, until the model's beliefs mean something (official 100-epoch scale)
    ramp_epochs = 30  # the candidate mixture ramps in linearly over these epochs after the warm-up
    min_probability = 1e-8  # as the GCE baseline: keeps 0 ** q and 0 / 0 out

    def compute_loss(self, logits, labels, epoch):
        probabilities = torch.softmax(logits, dim=1).clamp(min=self.min_probability)
        candidates = torch.stack([labels, (labels - 1) % logits.shape[1]], dim=1)  # (B, 2): y and y - 1
        p_candidates = probabilities.gather(1, candidates)
        gce = (1.0 - p_candidates**self.q) / self.q
        if epoch < self.warmup_epochs:
            return gce[:, 0].mean()
        ramp = min(1.0, (epoch - self.warmup_epochs) / self.ramp_epochs)
        belief = p_candidates.detach() / p_candidates.detach().sum(dim=1, keepdim=True)
        flipped = ramp * belief[:, 1]  # the weight moved from y to y - 1
        return ((1.0 - flipped) * gce[:, 0] + flipped * gce[:, 1]).mean()
