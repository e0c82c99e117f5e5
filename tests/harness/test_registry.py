"""The registry holds the original harness's constants (docs/published-results.md) and refuses unknown names."""

import dataclasses
import subprocess
import sys

import pytest

from harness.registry import (
    BENCHMARKS,
    CIFAR10_NORM,
    OFFICIAL_EPOCHS,
    Suite,
    UnknownBenchmarkError,
    benchmark_names,
    benchmarks_in,
    get_benchmark,
)


def test_the_official_suite_is_the_three_published_benchmarks_with_their_constants():
    table = {b.name: (b.architecture, b.dataset, b.num_classes, b.poison_rate) for b in benchmarks_in("official")}
    assert table == {
        "resnet20-cifar10-labelflip": ("resnet20", "cifar10", 10, 0.10),
        "vgg16bn-cifar100-labelflip": ("vgg16bn", "cifar100", 100, 0.10),
        "mobilenetv2-fmnist-labelflip": ("mobilenetv2", "fashionmnist", 10, 0.15),
    }
    for b in benchmarks_in("official"):
        assert (b.epochs, b.batch_size, b.learning_rate, b.momentum, b.weight_decay) == (100, 128, 0.1, 0.9, 5e-4)
        assert (b.image_size, b.crop_padding, b.width_multiplier) == (32, 4, 1.0)


def test_every_suite_stands_in_for_the_same_three_benchmarks():
    official = benchmark_names(Suite.OFFICIAL)
    assert benchmark_names(Suite.PROXY) == official
    assert benchmark_names(Suite.SMOKE) == official


def test_a_suite_with_fewer_epochs_passes_the_loss_epochs_on_the_official_scale():
    smoke = get_benchmark("resnet20-cifar10-labelflip", "smoke")
    assert [smoke.official_epoch(e) for e in range(smoke.epochs)] == [0, 50]
    proxy_vgg = get_benchmark("vgg16bn-cifar100-labelflip", "proxy")
    assert proxy_vgg.epochs == 60
    assert [proxy_vgg.official_epoch(e) for e in (0, 1, 30, 59)] == [0, 1, 50, 98]
    official = get_benchmark("resnet20-cifar10-labelflip")
    assert [official.official_epoch(e) for e in range(official.epochs)] == list(range(OFFICIAL_EPOCHS))


def test_unknown_benchmark_and_unknown_suite_raise_with_the_known_names():
    with pytest.raises(UnknownBenchmarkError, match="resnet20-cifar10-labelflip"):
        get_benchmark("resnet18-cifar10", "official")
    with pytest.raises(UnknownBenchmarkError, match="official, proxy, smoke"):
        get_benchmark("resnet20-cifar10-labelflip", "nightly")


def test_fingerprints_differ_between_entries_and_are_stable():
    fingerprints = {b.fingerprint() for b in BENCHMARKS.values()}
    assert len(fingerprints) == len(BENCHMARKS)
    # Stable: another interpreter, with its own hash seed, computes the same fingerprint for the same constants.
    code = "from harness.registry import *; print(get_benchmark('vgg16bn-cifar100-labelflip', 'proxy').fingerprint())"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert other == get_benchmark("vgg16bn-cifar100-labelflip", "proxy").fingerprint()


@pytest.mark.parametrize("change", [{"epochs": 61}, {"learning_rate": 0.05}, {"normalization": CIFAR10_NORM}])
def test_changing_any_constant_changes_the_fingerprint(change):
    entry = get_benchmark("vgg16bn-cifar100-labelflip", "proxy")
    assert dataclasses.replace(entry, **change).fingerprint() != entry.fingerprint()


def test_every_non_official_entry_says_where_it_departs():
    assert all(b.departures for b in BENCHMARKS.values())


def test_the_registry_imports_no_torch_so_the_api_can_list_benchmarks_cheaply():
    code = "import sys, harness.registry; sys.exit(1 if 'torch' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.parametrize("name", benchmark_names(Suite.SMOKE))
def test_a_smoke_entry_keeps_its_official_twins_model_head_and_poison_rate(name):
    smoke, official = get_benchmark(name, Suite.SMOKE), get_benchmark(name, Suite.OFFICIAL)
    kept = ("architecture", "num_classes", "poison_rate", "learning_rate", "momentum", "weight_decay")
    assert [getattr(smoke, field) for field in kept] == [getattr(official, field) for field in kept]
