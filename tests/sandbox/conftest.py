"""Fixtures of the sandbox tests: short per-call timeouts, training-like calls, several sandboxes at once, the
smoke suite's data and its training with a file set to one phase."""

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from harness.contract import LossFn
from harness.datasets import load_splits
from harness.registry import Suite, benchmarks_in
from harness.trainer import run
from sandbox.config import SandboxConfig
from sandbox.proxy import open_sandboxed_loss

# Honest calls take milliseconds; 5 s keeps hostile timeouts quick yet leaves room on a loaded 2-core machine.
CALL_TIMEOUT = 5.0
PARALLEL_SANDBOXES = 4  # a sandbox's start is mostly torch's import: four overlap well on 2 cores
SMOKE = benchmarks_in(Suite.SMOKE)  # ResNet-20, VGG-16-BN and MobileNetV2, scaled down
# When a file under exhausting/ or changing_settings/ does what it does: its line PHASE_LINE says, and the tests
# set it to each of these in turn.
PHASES = ("import", "init", "compute_loss")
PHASE_LINE = 'PHASE = "compute_loss"'


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


def source_in_phase(path: Path, phase: str) -> str:
    """The file's source with its PHASE line set to `phase`."""
    source = path.read_text()
    assert source.count(PHASE_LINE) == 1, f"{path.name} has no line {PHASE_LINE}"
    return source.replace(PHASE_LINE, f'PHASE = "{phase}"')


def train_smoke_suite(source: str, splits: dict, config: SandboxConfig) -> dict:
    """Each smoke benchmark's result, trained on the CPU with the loss in one sandbox, as the worker would."""
    with open_sandboxed_loss(source, config) as confined:
        return {
            benchmark.name: run(
                benchmark, confined, splits[benchmark.name], seed=1, poison_seed=2, device=torch.device("cpu")
            )
            for benchmark in SMOKE
        }
