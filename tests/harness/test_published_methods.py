"""The reference loss and the two re-implemented published methods compute their documented formulas.

Formulas: docs/reference-loss.md. Each loss is loaded from its file exactly as a submission is.
"""

import ast

import pytest
import torch
import torch.nn.functional as F

from harness.loss_file import load_loss
from harness.losses import loss_path

CORRECTING = ("inverse_flip_correction", "reference")  # move the target toward (y - 1) % C
ALL = ("inverse_flip_correction", "truncated_gce_ce", "reference")
WARMUP_EPOCHS = 10  # every one of them is plain GCE before this official epoch
LAST_EPOCH = 99  # every ramp is complete


def _loss(name: str):
    return load_loss(loss_path(name).read_text(), f"{name}.py")


def _gce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    p = torch.softmax(logits, 1).gather(1, labels[:, None]).squeeze(1).clamp(min=1e-8)
    return (1 - p**0.7) / 0.7


def _batch(size: int, classes: int, scale: float = 3.0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(size, classes, generator=generator) * scale
    return logits.requires_grad_(True), torch.randint(0, classes, (size,), generator=generator)


def _gradient(loss: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    return torch.autograd.grad(loss, logits)[0]


def _two_samples(classes: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample 0 is labelled 3 but looks like a 2, its class minus one; sample 1 is labelled 3 and looks like a 3."""
    logits = torch.zeros(2, classes)
    logits[0, 2], logits[0, 3] = 6.0, 1.0
    logits[1, 3], logits[1, 2] = 6.0, 1.0
    return logits.requires_grad_(True), torch.tensor([3, 3])


@pytest.mark.parametrize("name", ALL)
def test_each_file_imports_only_torch_and_math(name):
    tree = ast.parse(loss_path(name).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert {module.split(".")[0] for module in imported} <= {"torch", "math"}


@pytest.mark.parametrize("name", ["inverse_flip_correction", "truncated_gce_ce"])
def test_the_re_implementations_say_what_they_are_in_their_first_line(name):
    docstring = ast.get_docstring(ast.parse(loss_path(name).read_text()))
    assert docstring.startswith("Re-implementation from its published description: ")


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("epoch", [0, WARMUP_EPOCHS - 1])
def test_each_loss_is_generalized_ce_during_the_warm_up(name, epoch):
    logits, labels = _batch(32, 10)
    assert torch.allclose(_loss(name)(logits, labels, epoch), _gce(logits, labels).mean())


@pytest.mark.parametrize("name", CORRECTING)
def test_the_correcting_losses_start_from_generalized_ce_when_the_warm_up_ends(name):
    logits, labels = _batch(32, 10)
    assert torch.allclose(_loss(name)(logits, labels, WARMUP_EPOCHS), _gce(logits, labels).mean())


@pytest.mark.parametrize("name", ALL)
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


@pytest.mark.parametrize("name", ALL)
def test_each_loss_is_a_function_of_its_inputs_alone(name):
    """No state kept between calls: the same batch gives the same loss before and after other batches."""
    loss_fn = _loss(name)
    logits, labels = _batch(16, 10)
    first = loss_fn(logits, labels, 50)
    for epoch in (10, 50, 99):
        loss_fn(*_batch(64, 100, seed=epoch), epoch)
    assert torch.equal(loss_fn(logits, labels, 50), first)


@pytest.mark.parametrize("name", CORRECTING)
@pytest.mark.parametrize("classes", [10, 100])
def test_the_correction_pulls_toward_y_minus_1_only_where_the_evidence_points_there(name, classes):
    logits, labels = _two_samples(classes)
    gradient = _gradient(_loss(name)(logits, labels, LAST_EPOCH), logits)
    # Gradient descent raises a logit whose gradient is negative; GCE on y alone would lower logit y - 1.
    assert gradient[0, 2] < min(0, gradient[0, 3]), "a sample that looks like y - 1 is pulled toward y - 1"
    assert gradient[1, 3] < 0 < gradient[1, 2], "a sample that looks like y stays with y"


@pytest.mark.parametrize("name", CORRECTING)
def test_the_class_before_0_is_the_last_class(name):
    logits = torch.zeros(1, 10)
    logits[0, 9], logits[0, 0] = 6.0, 1.0
    logits.requires_grad_(True)
    gradient = _gradient(_loss(name)(logits, torch.tensor([0]), LAST_EPOCH), logits)
    assert gradient[0, 9] < min(0, gradient[0, 0])


def test_the_published_correction_is_per_sample_so_the_batch_size_does_not_change_it():
    logits, labels = _batch(24, 10)
    loss_fn = _loss("inverse_flip_correction")
    whole = loss_fn(logits, labels, 60)
    parts = [loss_fn(logits[i : i + 8], labels[i : i + 8], 60) for i in range(0, 24, 8)]
    assert torch.allclose(whole, torch.stack(parts).mean())


@pytest.mark.parametrize("name", CORRECTING)
def test_a_batch_seen_twice_over_gives_the_same_loss_so_the_batch_size_alone_changes_nothing(name):
    logits, labels = _batch(24, 10)
    loss_fn = _loss(name)
    assert torch.allclose(
        loss_fn(torch.cat([logits, logits]), torch.cat([labels, labels]), 60), loss_fn(logits, labels, 60)
    )


def _inverse_flip_correction(logits: torch.Tensor, labels: torch.Tensor, epoch: int, mean_one_weights: bool):
    """The published description, written out; the reference divides the weights by their batch mean."""
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
    if mean_one_weights:
        weight = weight / weight.mean()
    corrected = -(target * F.log_softmax(logits, 1)).sum(1)
    gce_share = 1 - 0.85 * ramp
    return ((1 - gce_share) * weight * corrected + gce_share * _gce(logits, labels)).mean()


@pytest.mark.parametrize(("name", "mean_one_weights"), [("inverse_flip_correction", False), ("reference", True)])
@pytest.mark.parametrize(("epoch", "classes"), [(30, 10), (LAST_EPOCH, 100)])
def test_the_inverse_flip_corrections_follow_their_formulas(name, mean_one_weights, epoch, classes):
    logits, labels = _batch(64, classes)
    expected = _inverse_flip_correction(logits, labels, epoch, mean_one_weights)
    loss = _loss(name)(logits, labels, epoch)
    assert torch.allclose(loss, expected)
    assert torch.allclose(_gradient(loss, logits), _gradient(expected, logits))  # target and weights detached


def test_the_reference_shares_the_step_out_where_the_published_weights_shrink_it():
    """A batch of doubtful samples (weights at the floor) gets a quarter of the published method's corrected step;
    the reference's weights average 1, so its step is the unweighted one's."""
    logits, labels = _batch(64, 10, scale=0.1)  # nearly uniform: every weight is at the floor of 0.25
    published = _gradient(_loss("inverse_flip_correction")(logits, labels, LAST_EPOCH), logits)
    reference = _gradient(_loss("reference")(logits, labels, LAST_EPOCH), logits)
    gce = _gradient(0.15 * _gce(logits, labels).mean(), logits)
    assert torch.allclose(reference - gce, 4 * (published - gce), atol=1e-7)


@pytest.mark.parametrize(("epoch", "size", "dropped"), [(10, 100, 0), (17, 100, 7), (25, 100, 15), (60, 7, 1)])
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
