"""The clean-label ceiling (benchmarks/clean_label_ceiling.py) trains with the clean labels shown to the loss."""

import torch
import torch.nn.functional as F

from harness import trainer
from harness.datasets import load_splits
from harness.poisoning import poison_labels
from harness.registry import get_benchmark

SMOKE = get_benchmark("resnet20-cifar10-labelflip", "smoke")


def test_a_clean_label_worker_hands_the_loss_the_clean_labels_in_place_of_the_poisoned_ones(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend("benchmarks")
    monkeypatch.setattr(trainer, "train_one_epoch", trainer.train_one_epoch)  # undone after the test
    from clean_label_ceiling import show_the_loss_clean_labels

    splits = load_splits(SMOKE, tmp_path)
    poisoned = poison_labels(splits.train_labels, SMOKE.poison_rate, SMOKE.num_classes, 5).labels
    clean_counts = splits.train_labels.bincount(minlength=10)
    assert not torch.equal(poisoned.bincount(minlength=10), clean_counts)  # the two are told apart below
    seen: list[tuple[int, torch.Tensor]] = []

    def recording_loss(logits, labels, epoch):
        seen.append((epoch, labels.clone()))
        return F.cross_entropy(logits, labels)

    show_the_loss_clean_labels()
    trainer.run(SMOKE, recording_loss, splits, seed=0, poison_seed=5, device=torch.device("cpu"))

    epochs = sorted({epoch for epoch, _ in seen})
    assert epochs == [0, 50]  # both smoke epochs reached the loss
    for epoch in epochs:
        labels = torch.cat([labels for e, labels in seen if e == epoch])
        assert torch.equal(labels.bincount(minlength=10), clean_counts)
