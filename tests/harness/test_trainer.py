"""The trainer: reproducible on the CPU, one loss seam fed on the official epoch scale, metrics by trusted code in
fp32 whatever the training precision."""

import json
import math

import pytest
import torch
import torch.nn.functional as F

from harness.contract import LossContractError
from harness.datasets import load_splits
from harness.loss_file import load_loss
from harness.losses import loss_path
from harness.poisoning import poison_labels
from harness.registry import get_benchmark
from harness.trainer import Precision, resolve_device, run

SMOKE = get_benchmark("resnet20-cifar10-labelflip", "smoke")
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    return load_splits(SMOKE, tmp_path_factory.mktemp("data"))


def _cross_entropy():
    return load_loss(loss_path("cross_entropy").read_text())


def test_the_same_seeds_give_identical_metrics_and_curves(splits):
    first = run(SMOKE, _cross_entropy(), splits, seed=1, poison_seed=2, device=CPU)
    second = run(SMOKE, _cross_entropy(), splits, seed=1, poison_seed=2, device=CPU)
    assert first.metrics == second.metrics
    assert [r.train_loss for r in first.curve] == [r.train_loss for r in second.curve]
    other = run(SMOKE, _cross_entropy(), splits, seed=3, poison_seed=2, device=CPU)
    assert [r.train_loss for r in other.curve] != [r.train_loss for r in first.curve]


def test_the_loss_sees_every_poisoned_label_once_per_epoch_with_the_epoch_on_the_official_scale(splits):
    seen: list[tuple[int, torch.Tensor]] = []

    def recording_loss(logits, labels, epoch):
        seen.append((epoch, labels.clone()))
        return F.cross_entropy(logits, labels)

    run(SMOKE, recording_loss, splits, seed=0, poison_seed=5, device=CPU)
    poisoned = poison_labels(splits.train_labels, SMOKE.poison_rate, SMOKE.num_classes, 5).labels
    epochs = sorted({epoch for epoch, _ in seen})
    assert epochs == [0, 50]  # 2 real epochs on the 100-epoch scale
    for epoch in epochs:
        labels = torch.cat([labels for e, labels in seen if e == epoch])
        assert torch.equal(labels.bincount(minlength=10), poisoned.bincount(minlength=10))
    assert max(len(labels) for _, labels in seen) == SMOKE.batch_size


def test_a_loss_that_turns_nan_fails_the_run_naming_the_epoch(splits):
    def nan_after_first_epoch(logits, labels, epoch):
        loss = F.cross_entropy(logits, labels)
        return loss * float("nan") if epoch >= 50 else loss

    with pytest.raises(LossContractError, match="NaN or infinite loss at epoch 50"):
        run(SMOKE, nan_after_first_epoch, splits, seed=0, poison_seed=0, device=CPU)


def test_the_result_records_metrics_curve_constants_seeds_and_provenance(splits):
    result = run(SMOKE, _cross_entropy(), splits, seed=4, poison_seed=9, device=CPU, loss_sha256="ab" * 32)
    record = json.loads(result.to_json())
    metrics = record["metrics"]
    assert set(metrics) == {"test_acc", "poison_fit", "poison_fit_noaug", "clean_fit", "robust_score"}
    assert all(0.0 <= value <= 1.0 for value in metrics.values())
    assert metrics["robust_score"] == pytest.approx((metrics["test_acc"] + 1 - metrics["poison_fit"]) / 2)
    assert [e["official_epoch"] for e in record["curve"]] == [0, 50]
    assert record["curve"][-1]["test_acc"] == metrics["test_acc"]  # final epoch, no best-epoch selection
    assert record["benchmark"]["name"] == SMOKE.name and record["benchmark"]["fingerprint"] == SMOKE.fingerprint()
    assert (record["seed"], record["poison_seed"], record["loss_sha256"]) == (4, 9, "ab" * 32)
    assert {"torch", "cuda", "device", "device_name"} <= set(record["environment"])
    assert record["schema_version"] == 2 and record["harness_version"]
    assert record["precision"] == "fp32"  # the default on every device, as the original harness trained
    assert record["images_per_second"] > 0 and math.isfinite(record["train_seconds"])


def test_bf16_training_autocasts_the_training_forward_pass_but_every_evaluation_runs_in_fp32(splits):
    """Records the output dtype of every Linear layer call, in train and in eval mode, for a whole bf16 run."""
    dtypes: dict[bool, set[torch.dtype]] = {True: set(), False: set()}

    def record_dtype(module, inputs, output):
        if isinstance(module, torch.nn.Linear):
            dtypes[module.training].add(output.dtype)

    hook = torch.nn.modules.module.register_module_forward_hook(record_dtype)
    try:
        # An outer autocast, as a caller might hold, must not reach the evaluation either.
        with torch.autocast("cpu", dtype=torch.bfloat16):
            result = run(SMOKE, _cross_entropy(), splits, seed=0, poison_seed=0, device=CPU, precision=Precision.BF16)
    finally:
        hook.remove()
    assert dtypes[True] == {torch.bfloat16}, "the training forward pass ran under bf16 autocast"
    assert dtypes[False] == {torch.float32}, "test_acc, poison_fit and clean_fit were measured in fp32"
    assert result.precision == "bf16"


def test_the_trainer_leaves_the_callers_random_state_alone(splits):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    run(SMOKE, _cross_entropy(), splits, seed=0, poison_seed=0, device=CPU)
    assert torch.equal(torch.rand(3), expected)


def test_asking_for_cuda_without_a_device_is_an_error_not_a_silent_fallback():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="no CUDA device"):
        resolve_device("cuda")
    assert resolve_device("auto") == CPU

