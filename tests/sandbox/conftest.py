"""Fixtures of the sandbox tests: short per-call timeouts, training-like calls, several sandboxes at once, the
smoke suite's data."""

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from harness.contract import LossFn
from harness.datasets import load_splits
from harness.registry import Suite, benchmarks_in
from sandbox.config import SandboxConfig

# Honest calls take milliseconds; 5 s keeps hostile timeouts quick yet leaves room on a loaded 2-core machine.
CALL_TIMEOUT = 5.0
PARALLEL_SANDBOXES = 4  # a sandbox's start is mostly torch's import: four overlap well on 2 cores


@pytest.fixture(scope="session")
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(call_timeout=CALL_TIMEOUT)


def _train_steps(loss_fn: LossFn, steps: int = 3, classes: int = 10, batch: int = 32) -> None:
    """Call the loss as the trainer does: logits of a model, on the autograd graph, then backward."""
    generator = torch.Generator().manual_seed(0)
    model = torch.nn.Linear(8, classes)
    for epoch in range(steps):
        logits = model(torch.randn(batch, 8, generator=generator))
        loss = loss_fn(logits.float(), torch.randint(classes, (batch,), generator=generator), epoch)
        loss.backward()


def _in_parallel(function: Callable, items: Iterable) -> list:
    with ThreadPoolExecutor(max_workers=PARALLEL_SANDBOXES) as pool:
        return list(pool.map(function, items))


@pytest.fixture(scope="session")
def train_steps() -> Callable[..., None]:
    return _train_steps


@pytest.fixture(scope="session")
def in_parallel() -> Callable[[Callable, Iterable], list]:
    """function(item) for every item, several sandboxes at a time, results in order."""
    return _in_parallel


@pytest.fixture
def minibatch() -> tuple[torch.Tensor, torch.Tensor]:
    """Four samples of ten classes, for calls whose outcome matters rather than their numbers."""
    return torch.randn(4, 10), torch.zeros(4, dtype=torch.int64)


@pytest.fixture(scope="session")
def smoke_splits(tmp_path_factory) -> dict:
    """Each smoke-suite benchmark's data, by name."""
    data_root = tmp_path_factory.mktemp("data")
    return {benchmark.name: load_splits(benchmark, data_root) for benchmark in benchmarks_in(Suite.SMOKE)}


@pytest.fixture
def one_thread():
    """The loss process computes on one thread; so does the reference here, so both sum in the same order."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
