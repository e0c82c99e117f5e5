"""Label-flip poisoning: a pure, seeded function of the clean labels."""

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from harness.registry import Benchmark, is_hidden_flip
from harness.seeds import Stream, stream_seed


@dataclass(frozen=True)
class PoisonedLabels:
    labels: torch.Tensor  # (N,) int64, what the loss sees
    poison_indices: torch.Tensor  # (k,) int64, sorted, the flipped samples; never shown to the loss


def poison_count(num_samples: int, rate: float) -> int:
    """Exactly round(rate * N) samples: the original's int() for the official sizes (docs/published-results.md)."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"poison rate must be in [0, 1], got {rate}")
    return round(rate * num_samples)


def poison_labels(
    clean_labels: torch.Tensor,
    rate: float,
    num_classes: int,
    poison_seed: int,
    flip: Sequence[int] | None = None,
) -> PoisonedLabels:
    """Flip y -> (y + 1) % C on the first round(rate * N) indices of a randperm seeded with `poison_seed`; with
    `flip`, y -> flip[y] instead (a transfer benchmark's hidden flip).

    The generator is seeded with `poison_seed` itself, as the original harness did, so poison seed 42 selects the
    same indices as the published table. The clean labels are left untouched.
    """
    generator = torch.Generator().manual_seed(poison_seed)
    count = poison_count(len(clean_labels), rate)
    indices = torch.randperm(len(clean_labels), generator=generator)[:count]
    labels = clean_labels.clone()
    if flip is None:
        labels[indices] = (labels[indices] + 1) % num_classes
    else:
        labels[indices] = torch.tensor(flip, dtype=labels.dtype)[labels[indices]]
    return PoisonedLabels(labels=labels, poison_indices=indices.sort().values)


def benchmark_flip(benchmark: Benchmark, poison_seed: int) -> tuple[int, ...] | None:
    """The class each poisoned label becomes on `benchmark`: None for the announced y -> (y + 1) % C; on a transfer
    benchmark a hidden flip (design harness.registry.FLIP_DESIGN) from the poison seed's flip stream scoped by the
    benchmark's key. So every entry meets the same flip on a benchmark and trial (the comparison stays paired), each
    benchmark of a trial meets its own, and, like the poisoned indices, only who knows the poison seed knows it."""
    if not is_hidden_flip(benchmark.name):
        return None
    return hidden_flip(stream_seed(poison_seed, Stream.FLIP, benchmark.key), benchmark.num_classes)


def hidden_flip(flip_seed: int, num_classes: int) -> tuple[int, ...]:
    """A transfer benchmark's flip: a permutation of the C classes that sends no class y to itself or to its
    announced target (y + 1) % C, drawn from `flip_seed` uniformly among all such permutations.

    With C >= 3 there always is one: y -> (y + 2) % C, the only one at C = 3. Every shift y -> (y + k) % C with
    k != 0, 1 is among those drawn from, but most draws are no shift. The flip is a fixed class map for the benchmark
    and trial: a loss cannot rely on the announced map, though it could in principle estimate this one from
    confident disagreements (docs/transfer.md).
    """
    if num_classes < 3:
        raise ValueError(f"{num_classes} classes have no flip other than to the class itself or to (y + 1) % C")
    generator = torch.Generator().manual_seed(flip_seed)
    # Rejection keeps the draw uniform. The share of permutations that qualify is the menage number U_C / C!:
    # 1/6 at C = 3, 1/12 at C = 4, 12 % at C = 10, about e^-2 = 13.5 % beyond: a dozen draws at most on average.
    while True:
        flip = tuple(torch.randperm(num_classes, generator=generator).tolist())
        if all(flip[y] not in (y, (y + 1) % num_classes) for y in range(num_classes)):
            return flip
