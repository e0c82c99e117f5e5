"""A loss that exhausts what its process may hold (descriptors, memory, threads), at import, in __init__ or in
compute_loss, and then returns cross-entropy either trains to cross-entropy's exact smoke-suite metrics and curve,
or fails its run as the loss's fault: the exchange never changes a result silently. The exhausting files are under
exhausting/; each says when it exhausts in its PHASE line, which these tests set to each phase in turn."""

import dataclasses
from pathlib import Path

import pytest
import torch

from harness.contract import LossContractError
from harness.losses import loss_path
from tests.sandbox.conftest import PHASES, source_in_phase, train_smoke_suite

pytestmark = pytest.mark.slow

EXHAUSTING = Path(__file__).parent / "exhausting"


@pytest.fixture(scope="module")
def cross_entropy_results(smoke_splits, sandbox_config) -> dict:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the one_thread fixture does for the runs compared with these
    try:
        return train_smoke_suite(loss_path("cross_entropy").read_text(), smoke_splits, sandbox_config)
    finally:
        torch.set_num_threads(threads)


def assert_same_results(results: dict, expected: dict) -> None:
    """The same metrics and the same curve, every figure of every epoch bit for bit, its timing aside."""
    for name, result in results.items():
        assert result.metrics == expected[name].metrics, name
        assert _untimed(result.curve) == _untimed(expected[name].curve), name


def _untimed(curve: list) -> list:
    return [dataclasses.replace(record, train_seconds=0.0) for record in curve]


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("resource", ["descriptors", "threads"])
def test_a_loss_that_exhausts_this_resource_and_returns_cross_entropy_trains_to_cross_entropys_exact_metrics(
    resource, phase, smoke_splits, sandbox_config, cross_entropy_results, one_thread
):
    source = source_in_phase(EXHAUSTING / f"{resource}.py", phase)
    assert_same_results(train_smoke_suite(source, smoke_splits, sandbox_config), cross_entropy_results)


@pytest.mark.parametrize("phase", PHASES)
def test_a_loss_that_exhausts_its_memory_and_returns_cross_entropy_trains_exactly_like_it_or_fails_as_the_loss(
    phase, smoke_splits, sandbox_config, cross_entropy_results, one_thread
):
    source = source_in_phase(EXHAUSTING / "memory.py", phase)
    try:
        results = train_smoke_suite(source, smoke_splits, sandbox_config)
    except LossContractError as error:
        assert "memory" in str(error), str(error)  # the failure names what ran out
        return
    assert_same_results(results, cross_entropy_results)
