"""The four baselines compute the published formulas (docs/published-results.md) with the original code's constants."""

import pytest
import torch
import torch.nn.functional as F

from harness.loss_file import load_loss
from harness.losses import BASELINES, loss_path


def _baseline(name: str):
    return load_loss(loss_path(name).read_text(), f"{name}.py")


@pytest.fixture
def batch():
    generator = torch.Generator().manual_seed(0)
    return torch.randn(32, 10, generator=generator) * 3, torch.randint(0, 10, (32,), generator=generator)


def test_cross_entropy_is_torch_cross_entropy(batch):
    logits, labels = batch
    assert torch.allclose(_baseline("cross_entropy")(logits, labels, 0), F.cross_entropy(logits, labels))


def test_generalized_ce_is_the_mean_of_one_minus_p_to_the_q_over_q_with_q_0_7(batch):
    logits, labels = batch
    p = torch.softmax(logits, 1)[torch.arange(32), labels].clamp(min=1e-8)
    assert torch.allclose(_baseline("generalized_ce")(logits, labels, 0), ((1 - p**0.7) / 0.7).mean())


def test_symmetric_ce_weighs_ce_by_1_and_reverse_ce_by_0_5(batch):
    logits, labels = batch
    p = torch.softmax(logits, 1).clamp(min=1e-8)
    log_one_hot = torch.full_like(p, torch.log(torch.tensor(1e-4)).item())
    log_one_hot[torch.arange(32), labels] = 0.0
    reverse = -(p * log_one_hot).sum(1).mean()
    expected = F.cross_entropy(logits, labels) + 0.5 * reverse
    assert torch.allclose(_baseline("symmetric_ce")(logits, labels, 0), expected)


def test_bootstrap_targets_0_8_one_hot_plus_0_2_detached_prediction(batch):
    logits, labels = batch
    logits = logits.clone().requires_grad_(True)
    target = 0.8 * F.one_hot(labels, 10) + 0.2 * torch.softmax(logits, 1).detach()
    expected = -(target * F.log_softmax(logits, 1)).sum(1).mean()
    loss = _baseline("bootstrap")(logits, labels, 0)
    assert torch.allclose(loss, expected)
    (gradient,) = torch.autograd.grad(loss, logits)
    (expected_gradient,) = torch.autograd.grad(expected, logits)
    assert torch.allclose(gradient, expected_gradient)  # the prediction term is detached in both


@pytest.mark.parametrize("name", BASELINES)
def test_every_baseline_is_a_file_in_the_submission_format_that_gives_a_finite_scalar(name, batch):
    logits, labels = batch
    logits = logits.clone().requires_grad_(True)
    loss = _baseline(name)(logits, labels, 50)
    loss.backward()
    assert loss.dim() == 0 and torch.isfinite(loss) and torch.isfinite(logits.grad).all()


def test_asking_for_a_loss_that_is_not_shipped_names_the_shipped_ones():
    with pytest.raises(LookupError, match="cross_entropy"):
        loss_path("focal")
