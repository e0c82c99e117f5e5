"""PoisonBench's reference loss: inverse-flip target correction with sample weights that share the step out
instead of shrinking it.

A label y is either clean or flipped from (y - 1) % C. After a GCE warm-up, each sample's target moves from y
toward y - 1 as far as the model's detached probabilities say it was flipped (the published inverse-flip
correction's gate), and the corrected cross-entropy is weighted per sample by how sure and how decisive the model
is. The published method uses those weights as they are: they average well below 1, so the corrected term takes
smaller steps than the fixed optimiser's learning rate was set for, and a model still learning its clean classes
underfits. Here the weights are divided by their batch mean: the sure samples still count more than the doubtful
ones, but the batch's step keeps its size. Design, constants and measurements: docs/reference-loss.md.
"""

import torch
import torch.nn.functional as F


class RobustLoss:
    q = 0.7  # GCE exponent of the baseline: bounded loss while the flips are not yet recognised
    warmup_epochs = 10  # GCE on y only, on the official 100-epoch scale, until the beliefs mean something
    ramp_epochs = 35  # the correction ramps in, and the GCE fades, over these epochs after the warm-up
    evidence_offset = 0.05  # the gate opens only when p[y-1] is a little above p[y]: a tie moves nothing
    evidence_temperature = 0.2  # how sharply the gate opens with the normalised evidence
    bootstrap = 0.1  # share of the target given to the detached prediction
    weight_floor = 0.25  # a doubtful sample's weight relative to a sure one's, before normalising
    gce_residual = 0.15  # share of GCE on the observed label kept after the ramp
    min_probability = 1e-8  # keeps 0 ** q and 0 / 0 out, as the GCE baseline

    def compute_loss(self, logits, labels, epoch):
        probabilities = torch.softmax(logits, dim=1)
        p_observed = probabilities.gather(1, labels[:, None]).squeeze(1).clamp(min=self.min_probability)
        gce = (1.0 - p_observed**self.q) / self.q
        if epoch < self.warmup_epochs:
            return gce.mean()
        ramp = min(1.0, (epoch - self.warmup_epochs) / self.ramp_epochs)
        target, weight = self._corrected_target(probabilities.detach(), labels, ramp)
        corrected = -(target * F.log_softmax(logits, dim=1)).sum(dim=1)
        gce_share = 1.0 - (1.0 - self.gce_residual) * ramp
        return ((1.0 - gce_share) * weight * corrected + gce_share * gce).mean()

    def _corrected_target(self, probabilities, labels, ramp):
        """Each sample's target distribution and its weight (mean 1 over the batch), from detached beliefs."""
        classes = probabilities.shape[1]
        previous = (labels - 1) % classes  # the class a flipped label came from
        p_observed = probabilities.gather(1, labels[:, None]).squeeze(1)
        p_previous = probabilities.gather(1, previous[:, None]).squeeze(1)
        evidence = (p_previous - p_observed) / (p_previous + p_observed).clamp(min=self.min_probability)
        confidence = probabilities.max(dim=1).values
        gate = torch.sigmoid((evidence - self.evidence_offset) / self.evidence_temperature)
        shift = (ramp * gate * p_previous / confidence)[:, None]
        corrected = (1.0 - shift) * F.one_hot(labels, classes) + shift * F.one_hot(previous, classes)
        target = (1.0 - self.bootstrap) * corrected + self.bootstrap * probabilities
        weight = (confidence * evidence.abs()).clamp(min=self.weight_floor)
        return target, weight / weight.mean()
