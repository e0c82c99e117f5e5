"""Re-implementation from its published description: inverse-flip target correction (a best published method).

The description (the reference-loss issue, docs/reference-loss.md): 10 epochs of generalized CE (q = 0.7) as warm-up;
afterwards, over a ramp of about 35 epochs, the target of each sample is moved from y toward (y - 1) mod C in
proportion to a sigmoid of the normalised evidence (p[y-1] - p[y]) / (p[y-1] + p[y]) on detached probabilities
(offset 0.05, temperature 0.2), scaled by p[y-1] / max p; plus a 0.1 self-bootstrap toward the detached prediction,
per-sample weights from confidence x decisiveness with a floor of 0.25, and a ramped 0.15 GCE residual on the
observed label. Where the description is silent we read it as follows (docs/reference-loss.md, "Comparison losses"):
the corrected target is fitted with cross-entropy; confidence is max p, decisiveness |evidence|, both detached; the
GCE on the observed label fades from the whole loss at the end of the warm-up to a 0.15 share at the end of the ramp.
"""

import torch
import torch.nn.functional as F


class RobustLoss:
    q = 0.7  # generalized CE exponent, as the baseline
    warmup_epochs = 10  # GCE only, on the official 100-epoch scale
    ramp_epochs = 35  # the correction ramps in, and GCE fades, over these epochs after the warm-up
    evidence_offset = 0.05  # the sigmoid is centred slightly toward y - 1: a tie does not move the target
    evidence_temperature = 0.2
    bootstrap = 0.1  # share of the target given to the detached prediction
    weight_floor = 0.25  # the least weight a sample keeps
    gce_residual = 0.15  # share of GCE on the observed label left after the ramp
    min_probability = 1e-8  # clamps, as the GCE baseline, against 0 ** q and 0 / 0

    def compute_loss(self, logits, labels, epoch):
        probabilities = torch.softmax(logits, dim=1)
        p_label = probabilities.gather(1, labels[:, None]).squeeze(1).clamp(min=self.min_probability)
        gce = (1.0 - p_label**self.q) / self.q
        if epoch < self.warmup_epochs:
            return gce.mean()
        ramp = min(1.0, (epoch - self.warmup_epochs) / self.ramp_epochs)

        detached = probabilities.detach()
        previous = (labels - 1) % logits.shape[1]
        p_now = detached.gather(1, labels[:, None]).squeeze(1)
        p_previous = detached.gather(1, previous[:, None]).squeeze(1)
        evidence = (p_previous - p_now) / (p_previous + p_now).clamp(min=self.min_probability)
        max_probability = detached.max(dim=1).values
        shift = ramp * torch.sigmoid((evidence - self.evidence_offset) / self.evidence_temperature)
        shift = shift * p_previous / max_probability
        corrected = (1.0 - shift[:, None]) * F.one_hot(labels, logits.shape[1]) + shift[:, None] * F.one_hot(
            previous, logits.shape[1]
        )
        target = (1.0 - self.bootstrap) * corrected + self.bootstrap * detached
        cross_entropy = -(target * F.log_softmax(logits, dim=1)).sum(dim=1)
        weight = (max_probability * evidence.abs()).clamp(min=self.weight_floor)

        gce_share = 1.0 - (1.0 - self.gce_residual) * ramp
        return ((1.0 - gce_share) * weight * cross_entropy + gce_share * gce).mean()
