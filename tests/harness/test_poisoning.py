"""Poisoning is a pure seeded function: exact counts, the flip y -> (y + 1) % C, a golden set of indices."""

import json
from pathlib import Path

import pytest
import torch

from harness.poisoning import poison_count, poison_labels

GOLDEN = Path(__file__).parent / "golden" / "poison_indices_seed42_n1000_rate0.1.json"


def test_exactly_round_rate_times_n_distinct_samples_are_flipped_to_the_next_class():
    clean = torch.arange(1_297) % 10
    poisoned = poison_labels(clean, rate=0.15, num_classes=10, poison_seed=7)
    assert len(poisoned.poison_indices) == round(0.15 * 1_297) == 195
    assert len(set(poisoned.poison_indices.tolist())) == 195
    flipped = poisoned.poison_indices
    assert torch.equal(poisoned.labels[flipped], (clean[flipped] + 1) % 10)
    untouched = torch.ones(len(clean), dtype=torch.bool)
    untouched[flipped] = False
    assert torch.equal(poisoned.labels[untouched], clean[untouched])


def test_the_official_sizes_give_the_published_poison_counts():
    assert poison_count(50_000, 0.10) == 5_000
    assert poison_count(60_000, 0.15) == 9_000


def test_poisoning_leaves_the_clean_labels_untouched_and_depends_only_on_the_poison_seed():
    clean = torch.arange(500) % 100
    before = clean.clone()
    first = poison_labels(clean, 0.1, 100, poison_seed=3)
    again = poison_labels(clean, 0.1, 100, poison_seed=3)
    other = poison_labels(clean, 0.1, 100, poison_seed=4)
    assert torch.equal(clean, before)
    assert torch.equal(first.poison_indices, again.poison_indices)
    assert not torch.equal(first.poison_indices, other.poison_indices)


def test_a_rate_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="poison rate"):
        poison_labels(torch.zeros(10, dtype=torch.long), 1.5, 10, 0)


def test_poison_seed_42_selects_the_golden_indices(request):
    indices = poison_labels(torch.zeros(1_000, dtype=torch.long), 0.1, 10, poison_seed=42).poison_indices.tolist()
    if request.config.getoption("--accept-golden"):
        GOLDEN.write_text(json.dumps(indices) + "\n")
    assert indices == json.loads(GOLDEN.read_text()), "poisoned set changed; rerun with --accept-golden if meant"
