"""truncated_gce_ce under the other plausible reading of its "progress": the GCE-to-CE blend's progress.

Not a shipped loss: the measured alternative that shows the shipped reading (epoch / 100) is not a choice that
decides the result (docs/published-methods.md). Only `progress` differs: the weights' floor falls from 1 to 0.1
over the 20 blend epochs after the warm-up (official epochs 10 to 30) instead of over the whole 100 epochs.
"""

from harness.losses.truncated_gce_ce import RobustLoss as EpochFractionReading


class RobustLoss(EpochFractionReading):
    def progress(self, epoch):
        return min(1.0, max(0.0, (epoch - self.warmup_epochs) / self.blend_epochs))
