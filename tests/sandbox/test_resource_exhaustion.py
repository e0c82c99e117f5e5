"""A loss that exhausts what its process may hold (descriptors, memory, threads) and then returns cross-entropy
either trains to cross-entropy's exact smoke-suite metrics, or fails its run as the loss's fault: the exchange
never changes a result silently. The exhausting files are under exhausting/."""

from pathlib import Path

import pytest
import torch

from harness.contract import LossContractError
from harness.losses import loss_path
from harness.registry import Suite, benchmarks_in
from harness.trainer import run
from sandbox.proxy import open_sandboxed_loss

EXHAUSTING = Path(__file__).parent / "exhausting"
SMOKE = benchmarks_in(Suite.SMOKE)
CPU = torch.device("cpu")


def _train_smoke_suite(source: str, splits: dict, config) -> dict:
    """Each smoke benchmark's result, trained with the loss in one sandbox, as the worker would."""
    with open_sandboxed_loss(source, config) as confined:
        return {
            benchmark.name: run(benchmark, confined, splits[benchmark.name], seed=1, poison_seed=2, device=CPU)
            for benchmark in SMOKE
        }


@pytest.fixture(scope="module")
def cross_entropy_results(smoke_splits, sandbox_config) -> dict:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the one_thread fixture does for the runs compared with these
    try:
        return _train_smoke_suite(loss_path("cross_entropy").read_text(), smoke_splits, sandbox_config)
    finally:
        torch.set_num_threads(threads)


def _assert_same_results(results: dict, expected: dict) -> None:
    for name, result in results.items():
        assert result.metrics == expected[name].metrics, name
        assert [r.train_loss for r in result.curve] == [r.train_loss for r in expected[name].curve], name


@pytest.mark.parametrize("resource", ["descriptors", "threads"])
def test_a_loss_that_exhausts_this_resource_and_returns_cross_entropy_trains_to_cross_entropys_exact_metrics(
    resource, smoke_splits, sandbox_config, cross_entropy_results, one_thread
):
    source = (EXHAUSTING / f"{resource}.py").read_text()
    _assert_same_results(_train_smoke_suite(source, smoke_splits, sandbox_config), cross_entropy_results)


def test_a_loss_that_exhausts_its_memory_and_returns_cross_entropy_trains_exactly_like_it_or_fails_as_the_loss(
    smoke_splits, sandbox_config, cross_entropy_results, one_thread
):
    source = (EXHAUSTING / "memory.py").read_text()
    try:
        results = _train_smoke_suite(source, smoke_splits, sandbox_config)
    except LossContractError as error:
        assert "memory" in str(error), str(error)  # the failure names what ran out
        return
    _assert_same_results(results, cross_entropy_results)
