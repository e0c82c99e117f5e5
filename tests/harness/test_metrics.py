"""Metrics are exactly the published definitions (docs/published-results.md)."""

import pytest
import torch

from harness.metrics import accuracy, clean_fit, poison_fit, robust_score


def test_poison_fit_counts_poisoned_samples_predicted_as_their_poisoned_label():
    poisoned_labels = torch.tensor([1, 2, 3, 4, 5])
    predictions = torch.tensor([1, 0, 3, 0, 0])
    assert poison_fit(predictions, poisoned_labels, torch.tensor([0, 1, 2])) == pytest.approx(2 / 3)


def test_clean_fit_is_accuracy_on_the_samples_that_were_not_poisoned():
    clean = torch.tensor([0, 1, 2, 3])
    predictions = torch.tensor([0, 9, 9, 3])
    assert clean_fit(predictions, clean, torch.tensor([1])) == pytest.approx(2 / 3)


def test_robust_score_is_the_mean_of_test_accuracy_and_one_minus_poison_fit():
    assert robust_score(0.904, 0.119) == pytest.approx((0.904 + 1 - 0.119) / 2)


def test_accuracy_of_an_empty_set_is_zero_not_nan():
    assert accuracy(torch.tensor([], dtype=torch.long), torch.tensor([], dtype=torch.long)) == 0.0
