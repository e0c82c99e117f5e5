"""The benchmark's metrics, computed by trusted code from predictions (docs/published-results.md, "Metrics")."""

import torch


def accuracy(predictions: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of predictions equal to labels; 0.0 for an empty set."""
    if labels.numel() == 0:
        return 0.0
    return (predictions == labels).float().mean().item()


def poison_fit(predictions: torch.Tensor, poisoned_labels: torch.Tensor, poison_indices: torch.Tensor) -> float:
    """Fraction of the poisoned training samples on which the model predicts the poisoned label. Lower is better."""
    return accuracy(predictions[poison_indices], poisoned_labels[poison_indices])


def clean_fit(predictions: torch.Tensor, clean_labels: torch.Tensor, poison_indices: torch.Tensor) -> float:
    """Accuracy on the training samples that were not poisoned."""
    clean = torch.ones_like(clean_labels, dtype=torch.bool)
    clean[poison_indices] = False
    return accuracy(predictions[clean], clean_labels[clean])


def robust_score(test_acc: float, poison_fit_value: float) -> float:
    """The primary metric: (test_acc + (1 - poison_fit)) / 2, higher is better."""
    return (test_acc + (1.0 - poison_fit_value)) / 2.0
