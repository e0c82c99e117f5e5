"""Each baseline trains to the same smoke-suite metrics with its loss in-process and in the sandbox."""

import pytest
import torch

from harness.loss_file import load_loss
from harness.losses import BASELINES, loss_path
from harness.registry import Suite, benchmarks_in
from harness.trainer import run
from sandbox.proxy import open_sandboxed_loss

pytestmark = pytest.mark.slow

SMOKE = benchmarks_in(Suite.SMOKE)
CPU = torch.device("cpu")


@pytest.mark.parametrize("baseline", BASELINES)
def test_each_baseline_gives_the_same_smoke_suite_metrics_in_and_out_of_process(
    baseline, smoke_splits, sandbox_config, one_thread
):
    source = loss_path(baseline).read_text()
    with open_sandboxed_loss(source, sandbox_config) as confined:  # one loss process serves the three runs
        for benchmark in SMOKE:
            splits = smoke_splits[benchmark.name]
            expected = run(benchmark, load_loss(source), splits, seed=1, poison_seed=2, device=CPU)
            result = run(benchmark, confined, splits, seed=1, poison_seed=2, device=CPU)
            assert result.metrics == expected.metrics, benchmark.name
            assert [r.train_loss for r in result.curve] == [r.train_loss for r in expected.curve]
