"""Label-flip poisoning: a pure, seeded function of the clean labels."""

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class PoisonedLabels:
    labels: torch.Tensor  # (N,) int64, what the loss sees
    poison_indices: torch.Tensor  # (k,) int64, sorted, the flipped samples; never shown to the loss


def poison_count(num_samples: int, rate: float) -> int:
    """Exactly round(rate * N) samples: the original's int() for the official sizes (docs/published-results.md)."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"poison rate must be in [0, 1], got {rate}")
    return round(rate * num_samples)


def poison_labels(clean_labels: torch.Tensor, rate: float, num_classes: int, poison_seed: int) -> PoisonedLabels:
    """Flip y -> (y + 1) % C on the first round(rate * N) indices of a randperm seeded with `poison_seed`.

    The generator is seeded with `poison_seed` itself, as the original harness did, so poison seed 42 selects the
    same indices as the published table. The clean labels are left untouched.
    """
    generator = torch.Generator().manual_seed(poison_seed)
    count = poison_count(len(clean_labels), rate)
    indices = torch.randperm(len(clean_labels), generator=generator)[:count]
    labels = clean_labels.clone()
    labels[indices] = (labels[indices] + 1) % num_classes
    return PoisonedLabels(labels=labels, poison_indices=indices.sort().values)
