"""Poisoning is a pure seeded function: exact counts, the flip y -> (y + 1) % C, a golden set of indices, and the
transfer track's hidden flip: a permutation sending no class to itself or to (y + 1) % C, its own for every
benchmark and trial, a function of the poison seed and the benchmark alone."""

import json
from pathlib import Path

import pytest
import torch

from harness.poisoning import benchmark_flip, hidden_flip, poison_count, poison_labels
from harness.registry import FLIP_DESIGN, TRANSFER_BENCHMARKS, Suite, get_benchmark, transfer_benchmark_names
from scoring.trials import planned_trials
from settings import Settings

GOLDEN = Path(__file__).parent / "golden" / "poison_indices_seed42_n1000_rate0.1.json"
GOLDEN_FLIPS = Path(__file__).parent / "golden" / "hidden_flips_seed42.json"


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


def _sends_no_class_to_itself_or_to_the_next(flip: tuple[int, ...]) -> bool:
    return all(flip[y] not in (y, (y + 1) % len(flip)) for y in range(len(flip)))


@pytest.mark.parametrize("num_classes", [3, 4, 10, 100])
def test_a_hidden_flip_is_a_permutation_sending_no_class_to_itself_or_to_its_announced_target(num_classes):
    for seed in range(50):
        flip = hidden_flip(seed, num_classes)
        assert sorted(flip) == list(range(num_classes))  # a permutation of the classes
        assert _sends_no_class_to_itself_or_to_the_next(flip)


def test_fewer_than_three_classes_have_no_hidden_flip():
    with pytest.raises(ValueError, match="2 classes"):
        hidden_flip(0, 2)


def test_hidden_flips_vary_with_the_seed_and_reach_shifts_and_non_shifts():
    flips = {hidden_flip(seed, 10) for seed in range(200)}
    assert len(flips) > 150
    shifts = {tuple((y + k) % 10 for y in range(10)) for k in range(2, 10)}
    assert flips - shifts  # mostly no shift at all
    assert {hidden_flip(seed, 3) for seed in range(20)} == {(2, 0, 1)}  # the only one of 3 classes besides y + 1


def test_the_poisoned_labels_follow_the_hidden_flip_on_the_same_indices():
    clean = torch.arange(1_000) % 10
    flip = hidden_flip(3, 10)
    announced = poison_labels(clean, rate=0.1, num_classes=10, poison_seed=7)
    hidden = poison_labels(clean, rate=0.1, num_classes=10, poison_seed=7, flip=flip)
    assert torch.equal(hidden.poison_indices, announced.poison_indices)
    indices = hidden.poison_indices
    assert hidden.labels[indices].tolist() == [flip[y] for y in clean[indices].tolist()]
    assert (hidden.labels[indices] != clean[indices]).all()


def test_a_transfer_benchmark_flips_by_its_poison_seed_and_its_own_key_and_an_announced_one_as_announced():
    announced = get_benchmark("resnet20-cifar10-labelflip", Suite.PROXY)
    transfer = get_benchmark("resnet20-cifar10-hiddenflip", Suite.PROXY)
    assert benchmark_flip(announced, 11) is None
    # A pure function of the trial's poison seed and the benchmark: every entry of a trial meets the same flip.
    assert benchmark_flip(transfer, 11) == benchmark_flip(transfer, 11) != benchmark_flip(transfer, 12)
    same_classes = get_benchmark("mobilenetv2-fmnist-hiddenflip", Suite.PROXY)
    assert benchmark_flip(same_classes, 11) != benchmark_flip(transfer, 11)  # 10 classes too, its own flip
    assert benchmark_flip(get_benchmark(transfer.name, Suite.SMOKE), 11) != benchmark_flip(transfer, 11)
    cifar100 = get_benchmark("vgg16bn-cifar100-hiddenflip", Suite.OFFICIAL)
    assert len(benchmark_flip(cifar100, 11)) == 100


def test_over_1000_master_seeds_no_class_goes_to_itself_or_its_announced_target_and_a_trials_flips_differ():
    settings = Settings()
    flips_seen = 0
    for master_seed in range(1_000):
        for suite in Suite:
            # The poison seeds as the service derives them, for each of the suite's planned trials.
            for trial in planned_trials(master_seed, suite, settings.trials(suite)):
                flips = [
                    benchmark_flip(get_benchmark(name, suite), trial.seeds.poison_seed)
                    for name in transfer_benchmark_names(suite)
                ]
                assert all(sorted(flip) == list(range(len(flip))) for flip in flips)
                assert all(map(_sends_no_class_to_itself_or_to_the_next, flips)), (master_seed, suite, trial.index)
                assert len(set(flips)) == len(flips), (master_seed, suite, trial.index)
                flips_seen += len(flips)
    assert flips_seen == 1_000 * 3 * sum(settings.trials(suite) for suite in Suite)


def test_poison_seed_42_gives_the_golden_hidden_flips_of_this_flip_design(request):
    """A change to the flips a poison seed gives is a new flip design: bump harness.registry.FLIP_DESIGN with it."""
    flips = {benchmark.key: list(benchmark_flip(benchmark, 42)) for benchmark in TRANSFER_BENCHMARKS.values()}
    if request.config.getoption("--accept-golden"):
        GOLDEN_FLIPS.write_text(json.dumps({"flip_design": FLIP_DESIGN, "flips": flips}) + "\n")
    golden = json.loads(GOLDEN_FLIPS.read_text())
    assert golden["flips"] == flips, "the hidden flips changed: bump FLIP_DESIGN, then rerun with --accept-golden"
    assert golden["flip_design"] == FLIP_DESIGN, "FLIP_DESIGN changed: rerun with --accept-golden"
