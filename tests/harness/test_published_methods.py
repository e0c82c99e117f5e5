"""The two re-implemented published methods compute the formulas of their published description.

Formulas, constants and the readings chosen where the description is silent: docs/published-methods.md. Each loss is
loaded from its file exactly as a submission is. The hand-computed cases use probabilities chosen so that every term
can be worked out on paper; their arithmetic is written beside each expected figure.
"""

import ast
import math

import pytest
import torch
import torch.nn.functional as F

from harness.loss_file import load_loss
from harness.losses import PUBLISHED_METHODS, loss_path

PUBLISHED = PUBLISHED_METHODS
WARMUP_EPOCHS = 10  # both are plain GCE before this official epoch
LAST_EPOCH = 99  # every ramp is complete
GCE_OF_A_QUARTER = (1 - 0.25**0.7) / 0.7  # 0.887244: GCE of p_y = 0.25, as for uniform logits over 4 classes
GCE_OF_A_TENTH = (1 - 0.1**0.7) / 0.7  # 1.143534


def _loss(name: str):
    return load_loss(loss_path(name).read_text(), f"{name}.py")


def _gce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    p = torch.softmax(logits, 1).gather(1, labels[:, None]).squeeze(1).clamp(min=1e-8)
    return (1 - p**0.7) / 0.7


def _batch(size: int, classes: int, scale: float = 3.0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(size, classes, generator=generator) * scale
    return logits.requires_grad_(True), torch.randint(0, classes, (size,), generator=generator)


def _logits_of(*probabilities: list[float]) -> torch.Tensor:
    """Logits whose softmax is exactly the given rows of probabilities (up to float rounding)."""
    return torch.tensor(probabilities, dtype=torch.float64).log().requires_grad_(True)


def _gradient(loss: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    return torch.autograd.grad(loss, logits)[0]


def _two_samples(classes: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample 0 is labelled 3 but looks like a 2, its class minus one; sample 1 is labelled 3 and looks like a 3."""
    logits = torch.zeros(2, classes)
    logits[0, 2], logits[0, 3] = 6.0, 1.0
    logits[1, 3], logits[1, 2] = 6.0, 1.0
    return logits.requires_grad_(True), torch.tensor([3, 3])


@pytest.mark.parametrize("name", PUBLISHED)
def test_each_file_imports_only_torch_and_math(name):
    tree = ast.parse(loss_path(name).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert {module.split(".")[0] for module in imported} <= {"torch", "math"}


@pytest.mark.parametrize("name", PUBLISHED)
def test_the_re_implementations_say_what_they_are_in_their_first_line(name):
    docstring = ast.get_docstring(ast.parse(loss_path(name).read_text()))
    assert docstring.startswith("Re-implementation from its published description: ")


@pytest.mark.parametrize("name", PUBLISHED)
@pytest.mark.parametrize("epoch", [0, WARMUP_EPOCHS - 1])
def test_each_loss_is_generalized_ce_during_the_warm_up(name, epoch):
    logits, labels = _batch(32, 10)
    assert torch.allclose(_loss(name)(logits, labels, epoch), _gce(logits, labels).mean())


@pytest.mark.parametrize("name", PUBLISHED)
def test_the_warm_up_of_uniform_logits_is_hand_computed_gce(name):
    logits = torch.zeros(3, 4, dtype=torch.float64, requires_grad=True)
    loss = _loss(name)(logits, torch.tensor([0, 1, 3]), 5)
    assert loss.item() == pytest.approx(0.887244, abs=1e-6)  # (1 - 0.25 ** 0.7) / 0.7


@pytest.mark.parametrize("name", PUBLISHED)
@pytest.mark.parametrize("classes", [10, 100])
@pytest.mark.parametrize("size", [1, 7, 128])
@pytest.mark.parametrize("epoch", [0, 10, 17, 30, 60, LAST_EPOCH])
def test_each_loss_is_a_finite_scalar_with_finite_gradients_for_any_class_count_and_batch_size(
    name, classes, size, epoch
):
    logits, labels = _batch(size, classes, scale=30.0)  # saturated softmax: probabilities of exactly 0 and 1
    loss = _loss(name)(logits, labels, epoch)
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert torch.isfinite(_gradient(loss, logits)).all()


@pytest.mark.parametrize("name", PUBLISHED)
def test_each_loss_is_a_function_of_its_inputs_alone(name):
    """No state kept between calls: the same batch gives the same loss before and after other batches."""
    loss_fn = _loss(name)
    logits, labels = _batch(16, 10)
    first = loss_fn(logits, labels, 50)
    for epoch in (10, 50, 99):
        loss_fn(*_batch(64, 100, seed=epoch), epoch)
    assert torch.equal(loss_fn(logits, labels, 50), first)


# Inverse-flip target correction


def test_inverse_flip_correction_mid_ramp_is_hand_computed():
    """Epoch 24: r = (24 - 10) / 35 = 0.4. Uniform logits over 4 classes, label 1 (so y - 1 = 0): evidence 0,
    gate sigmoid(-0.05 / 0.2) = 0.437823, shift 0.4 * 0.437823 * 0.25 / 0.25 = 0.175129; weight max(0.25 * 0, 0.25)
    = 0.25, which its batch mean makes 1. The target sums to 1, so CE = ln 4 = 1.386294, and the loss is
    1.386294 + 0.15 * 0.4 * 0.887244 = 1.439529."""
    logits = torch.zeros(1, 4, dtype=torch.float64, requires_grad=True)
    loss = _loss("inverse_flip_correction")(logits, torch.tensor([1]), 24)
    assert loss.item() == pytest.approx(1.439529, abs=1e-6)
    # d/dz of CE(target) is p - target, target = 0.9 * (0.175129, 0.824871, 0, 0) + 0.1 * 0.25; d/dz of GCE is
    # -0.25 ** 0.7 * (onehot(y) - p) = (0.094732, -0.284197, 0.094732, 0.094732), weighted 0.15 * 0.4 = 0.06.
    expected = [0.25 - 0.182616 + 0.005684, 0.25 - 0.767384 - 0.017052, 0.225 + 0.005684, 0.225 + 0.005684]
    assert _gradient(loss, logits)[0].tolist() == pytest.approx(expected, abs=1e-5)


def test_inverse_flip_correction_after_the_ramp_is_hand_computed():
    """Epoch 60: r = 1. Sample 0, label 1, p = (0.7, 0.1, 0.1, 0.1): evidence (0.7 - 0.1) / 0.8 = 0.75, gate
    sigmoid(0.7 / 0.2) = 0.970688, shift 0.970688 * 0.7 / 0.7; target 0.9 * (0.970688, 0.029312, 0, 0) + 0.1 * p
    = (0.943619, 0.036381, 0.01, 0.01), CE = 0.466387; weight 0.7 * 0.75 = 0.525. Sample 1, label 2, uniform: CE
    ln 4 = 1.386294, weight at the floor, 0.25. Batch mean 0.3875: weights 1.354839 and 0.645161. Loss =
    (1.354839 * 0.466387 + 0.645161 * 1.386294) / 2 + 0.15 * (1.143534 + 0.887244) / 2 = 0.915440."""
    logits = _logits_of([0.7, 0.1, 0.1, 0.1], [0.25, 0.25, 0.25, 0.25])
    loss = _loss("inverse_flip_correction")(logits, torch.tensor([1, 2]), 60)
    assert loss.item() == pytest.approx(0.915440, abs=1e-6)


def test_inverse_flip_correction_at_the_end_of_the_warm_up_has_no_gce_and_an_uncorrected_target():
    """Epoch 10: r = 0, so no shift and no GCE: the weighted CE toward 0.9 * onehot(y) + 0.1 * p. The same batch as
    above: CE_0 = -(0.07 ln 0.7 + 0.91 ln 0.1 + 0.02 ln 0.1) = 2.166418; loss = (1.354839 * 2.166418 + 0.645161 *
    1.386294) / 2 = 1.914734."""
    logits = _logits_of([0.7, 0.1, 0.1, 0.1], [0.25, 0.25, 0.25, 0.25])
    loss = _loss("inverse_flip_correction")(logits, torch.tensor([1, 2]), WARMUP_EPOCHS)
    assert loss.item() == pytest.approx(1.914734, abs=1e-6)


def test_inverse_flip_correction_weights_average_one_over_the_batch():
    """Nearly uniform logits put every raw weight at its floor (p_max * |evidence| < 0.2 < 0.25); divided by their
    batch mean they are all 1, so the corrected term is the unweighted mean CE, four times the raw-weighted one."""
    logits, labels = _batch(64, 10, scale=0.1)
    assert torch.softmax(logits, 1).max() < 0.2
    gce_part = 0.15 * _gce(logits, labels).mean()
    corrected = _loss("inverse_flip_correction")(logits, labels, LAST_EPOCH) - gce_part
    raw_weighted = _inverse_flip_correction(logits, labels, LAST_EPOCH, raw_weights=True) - gce_part
    assert torch.allclose(corrected, 4 * raw_weighted)


@pytest.mark.parametrize("epoch", [WARMUP_EPOCHS, 17, 27, 45, LAST_EPOCH])
def test_inverse_flip_correction_adds_gce_on_the_observed_label_with_weight_015_times_the_ramp(epoch):
    """The loss minus the weighted corrected CE is 0.15 * r * mean(GCE), r = min(1, (epoch - 10) / 35)."""
    logits, labels = _batch(64, 10)
    loss = _loss("inverse_flip_correction")(logits, labels, epoch)
    gce_part = loss - _inverse_flip_correction(logits, labels, epoch, gce=False)
    ramp = min(1.0, (epoch - 10) / 35)
    assert torch.allclose(gce_part, 0.15 * ramp * _gce(logits, labels).mean(), atol=1e-6)


@pytest.mark.parametrize("classes", [10, 100])
def test_the_correction_pulls_toward_y_minus_1_only_where_the_evidence_points_there(classes):
    logits, labels = _two_samples(classes)
    gradient = _gradient(_loss("inverse_flip_correction")(logits, labels, LAST_EPOCH), logits)
    # Gradient descent raises a logit whose gradient is negative; GCE on y alone would lower logit y - 1.
    assert gradient[0, 2] < min(0, gradient[0, 3]), "a sample that looks like y - 1 is pulled toward y - 1"
    assert gradient[1, 3] < 0 < gradient[1, 2], "a sample that looks like y stays with y"


def test_the_class_before_0_is_the_last_class():
    logits = torch.zeros(1, 10)
    logits[0, 9], logits[0, 0] = 6.0, 1.0
    logits.requires_grad_(True)
    gradient = _gradient(_loss("inverse_flip_correction")(logits, torch.tensor([0]), LAST_EPOCH), logits)
    assert gradient[0, 9] < min(0, gradient[0, 0])


def test_a_batch_seen_twice_over_gives_the_same_loss_so_the_batch_size_alone_changes_nothing():
    logits, labels = _batch(24, 10)
    loss_fn = _loss("inverse_flip_correction")
    assert torch.allclose(
        loss_fn(torch.cat([logits, logits]), torch.cat([labels, labels]), 60), loss_fn(logits, labels, 60)
    )


def _inverse_flip_correction(
    logits: torch.Tensor, labels: torch.Tensor, epoch: int, raw_weights: bool = False, gce: bool = True
) -> torch.Tensor:
    """The published description, written out: mean(w * CE(target)) + 0.15 * r * mean(GCE)."""
    size, classes = logits.shape
    ramp = min(1.0, (epoch - 10) / 35)
    p = torch.softmax(logits, 1).detach()
    previous = (labels - 1) % classes
    p_y, p_previous = p[torch.arange(size), labels], p[torch.arange(size), previous]
    evidence = (p_previous - p_y) / (p_previous + p_y)
    shift = ramp * torch.sigmoid((evidence - 0.05) / 0.2) * p_previous / p.max(1).values
    target = (1 - shift[:, None]) * F.one_hot(labels, classes) + shift[:, None] * F.one_hot(previous, classes)
    target = 0.9 * target + 0.1 * p
    weight = (p.max(1).values * evidence.abs()).clamp(min=0.25)
    if not raw_weights:
        weight = weight / weight.mean()
    corrected = (weight * -(target * F.log_softmax(logits, 1)).sum(1)).mean()
    return corrected + 0.15 * ramp * _gce(logits, labels).mean() if gce else corrected


@pytest.mark.parametrize(("epoch", "classes"), [(30, 10), (LAST_EPOCH, 100)])
def test_inverse_flip_correction_follows_its_formula_with_target_and_weights_detached(epoch, classes):
    logits, labels = _batch(64, classes)
    expected = _inverse_flip_correction(logits, labels, epoch)
    loss = _loss("inverse_flip_correction")(logits, labels, epoch)
    assert torch.allclose(loss, expected)
    assert torch.allclose(_gradient(loss, logits), _gradient(expected, logits))


# GCE -> CE with confidence weights and truncation


@pytest.mark.parametrize(
    ("epoch", "weight"),
    [
        (50, 0.55),  # floor max(0.1, 1 - 0.9 * 50 / 100) = 0.55, above p_y / p_max = 0.1 / 0.7
        (95, 0.145),  # floor 1 - 0.9 * 0.95 = 0.145, just above 1 / 7 = 0.142857
    ],
)
def test_truncated_gce_ce_weight_floor_falls_with_the_fraction_of_training_done(epoch, weight):
    """One sample, p = (0.7, 0.1, 0.1, 0.1), label 1: after the blend the loss is weight * CE = weight * ln 10
    (a batch of 1 drops floor(0.15) = 0 samples)."""
    logits = _logits_of([0.7, 0.1, 0.1, 0.1])
    loss = _loss("truncated_gce_ce")(logits, torch.tensor([1]), epoch)
    assert loss.item() == pytest.approx(weight * math.log(10), abs=1e-6)


def test_truncated_gce_ce_weight_is_p_y_over_p_max_above_the_floor():
    """Epoch 95, p = (0.4, 0.3, 0.2, 0.1), label 1: weight 0.3 / 0.4 = 0.75 > 0.145; loss 0.75 * ln(1 / 0.3)."""
    logits = _logits_of([0.4, 0.3, 0.2, 0.1])
    loss = _loss("truncated_gce_ce")(logits, torch.tensor([1]), 95)
    assert loss.item() == pytest.approx(0.75 * math.log(1 / 0.3), abs=1e-6)


@pytest.mark.parametrize(
    ("epoch", "size", "dropped"),
    [
        (10, 100, 0),  # the truncation ramp starts at 0
        (17, 100, 7),  # 0.15 * 7 / 15 = 7% of 100
        (25, 100, 15),  # the ramp's end: 15%
        (60, 7, 1),  # floor(0.15 * 7) = 1
        (60, 6, 0),  # floor(0.15 * 6) = 0
    ],
)
def test_truncation_drops_the_highest_cross_entropy_samples_up_to_15_percent_over_15_epochs(epoch, size, dropped):
    logits, labels = _batch(size, 10)
    gradient = _gradient(_loss("truncated_gce_ce")(logits, labels, epoch), logits)
    silent = gradient.abs().sum(1) == 0
    assert silent.sum() == dropped
    highest = F.cross_entropy(logits, labels, reduction="none").argsort(descending=True)[:dropped]
    assert silent[highest].all()


@pytest.mark.parametrize("epoch", [20, 30, 90])
def test_truncated_gce_ce_blends_to_weighted_cross_entropy_with_a_falling_weight_floor(epoch):
    logits, labels = _batch(100, 10)
    blend = min(1.0, (epoch - 10) / 20)
    p = torch.softmax(logits, 1).detach()
    floor = max(0.1, 1 - 0.9 * epoch / 100)
    weight = (p[torch.arange(100), labels] / p.max(1).values).clamp(min=floor)
    cross_entropy = F.cross_entropy(logits, labels, reduction="none")
    per_sample = weight * ((1 - blend) * _gce(logits, labels) + blend * cross_entropy)
    dropped = round(15 * min(1.0, (epoch - 10) / 15))  # of 100: up to 15%, over 15 epochs
    kept = cross_entropy.argsort()[: 100 - dropped]
    expected = per_sample[kept].mean()
    loss = _loss("truncated_gce_ce")(logits, labels, epoch)
    assert torch.allclose(loss, expected)
    assert torch.allclose(_gradient(loss, logits), _gradient(expected, logits))
