"""A loss file either becomes a LossFn or gives one precise message, with a line number where there is one."""

import pytest
import torch

from harness.contract import MAX_FILE_BYTES, LossContractError, check_loss_value
from harness.loss_file import decode_loss_source, load_loss, read_loss_source

GOOD = """
import torch.nn.functional as F

class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        return F.cross_entropy(logits, labels)
"""


def _logits_and_labels():
    return torch.randn(4, 10, requires_grad=True), torch.tensor([0, 1, 2, 3])


def test_a_valid_file_becomes_a_callable_loss():
    logits, labels = _logits_and_labels()
    loss = load_loss(GOOD)(logits, labels, 0)
    assert torch.allclose(loss, torch.nn.functional.cross_entropy(logits, labels))


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("class RobustLoss:\n    def compute_loss(self, logits, labels, epoch)\n", r"line 2: syntax error"),
        ("import torch\n", r"defines no class RobustLoss"),
        ("RobustLoss = 3\n", r"defines no class RobustLoss"),
        ("class RobustLoss:\n    pass\n", r"has no method compute_loss"),
        (
            "class RobustLoss:\n    def compute_loss(self, logits):\n        return logits.sum()\n",
            r"line 2: RobustLoss.compute_loss\(self, logits\) cannot be called as compute_loss\(self, logits, labels",
        ),
        (
            "class RobustLoss:\n    def __init__(self, q):\n        self.q = q\n"
            "    def compute_loss(self, logits, labels, epoch):\n        return logits.sum()\n",
            r"RobustLoss\(\) raised TypeError.*constructor must take no arguments",
        ),
        ("import nonexistent_package_xyz\n", r"line 1: importing the file raised ModuleNotFoundError"),
    ],
)
def test_each_malformed_file_gets_its_own_message(source, message):
    with pytest.raises(LossContractError, match=message):
        load_loss(source, "custom_robust_loss.py")


def test_an_exception_inside_compute_loss_names_its_line():
    source = "class RobustLoss:\n    def compute_loss(self, logits, labels, epoch):\n        return 1 / 0\n"
    logits, labels = _logits_and_labels()
    with pytest.raises(
        LossContractError, match=r"custom_robust_loss.py, line 3: compute_loss raised ZeroDivisionError"
    ):
        load_loss(source, "custom_robust_loss.py")(logits, labels, 0)


def test_files_over_the_size_limit_or_not_utf8_are_refused_before_running(tmp_path):
    with pytest.raises(LossContractError, match="over the 65,536-byte limit"):
        decode_loss_source(b"#" * (MAX_FILE_BYTES + 1), "big.py")
    with pytest.raises(LossContractError, match=r"not UTF-8 text \(byte 2 is 0xff\)"):
        decode_loss_source(b"# \xff\n", "latin.py")
    with pytest.raises(LossContractError, match="no such file"):
        read_loss_source(tmp_path / "missing.py")


@pytest.mark.parametrize(
    ("make_loss", "message"),
    [
        (lambda logits: 1.0, "must return a torch.Tensor, got float"),
        (lambda logits: logits.sum(dim=1), r"must return a scalar loss, got a tensor of shape \(4,\)"),
        (lambda logits: logits.detach().sum(), "does not depend on the logits"),
        (lambda logits: logits.argmax(), "must return a floating-point loss"),
    ],
)
def test_returned_values_that_break_the_contract_are_named(make_loss, message):
    logits, _ = _logits_and_labels()
    with pytest.raises(LossContractError, match=message):
        check_loss_value(make_loss(logits), logits)
