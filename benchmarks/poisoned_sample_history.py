"""Which poisoned samples a loss still fits at the end of a run, and what the model predicted for them epoch by epoch.

After every epoch the trainer's evaluation is followed by one more look at the poisoned training samples, with the
train transform the poison_fit metric uses and without it. For each poisoned sample predicted as its poisoned label
at the end (by either measure), it prints one character per epoch: T the true class, P the poisoned label, . any
other class. It tells samples fitted through the metric's crop alone from samples the model learnt as poisoned.

    python benchmarks/poisoned_sample_history.py --loss inverse_flip_correction \
        --benchmark resnet20-cifar10-labelflip --seed 1
"""

import argparse
from pathlib import Path

import torch
from loss_table import refuse_unknown_losses

from harness import trainer
from harness.datasets import load_splits
from harness.loss_file import load_loss
from harness.losses import loss_path
from harness.poisoning import poison_labels
from harness.registry import benchmark_names, get_benchmark
from harness.seeds import Stream, generator


def record_poisoned_predictions(history: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    """Wrap the trainer's per-epoch evaluation: also append (augmented, plain) predictions on the poisoned samples."""
    evaluate = trainer.evaluate

    def evaluate_and_record(model, data, benchmark, run_seed):
        measured = evaluate(model, data, benchmark, run_seed)
        images = data.train_images[data.poison_indices]
        crops = (benchmark.crop_padding, generator(run_seed, Stream.EVAL_AUGMENT, images.device))  # as the metric
        augmented = trainer.predict(model, images, data, benchmark.eval_batch_size, augmentation=crops)
        history.append((augmented, trainer.predict(model, images, data, benchmark.eval_batch_size)))
        return measured

    trainer.evaluate = evaluate_and_record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="proxy", choices=["proxy", "smoke"])
    parser.add_argument("--loss", default="inverse_flip_correction", help="a shipped loss name (harness/losses)")
    parser.add_argument("--benchmark", default="resnet20-cifar10-labelflip", choices=benchmark_names("proxy"))
    parser.add_argument("--seed", type=int, default=1, help="training and poison seed")
    args = parser.parse_args()
    refuse_unknown_losses(parser, [args.loss])
    source = loss_path(args.loss).read_text()

    history: list[tuple[torch.Tensor, torch.Tensor]] = []
    record_poisoned_predictions(history)
    torch.set_num_threads(1)  # as loss_table.py --jobs 2 ran the committed results: same threads, same run
    benchmark = get_benchmark(args.benchmark, args.suite)
    splits = load_splits(benchmark, Path("data"))
    result = trainer.run(
        benchmark, load_loss(source), splits, seed=args.seed, poison_seed=args.seed, device=torch.device("cpu")
    )
    poisoned = poison_labels(splits.train_labels, benchmark.poison_rate, benchmark.num_classes, args.seed)
    true = splits.train_labels[poisoned.poison_indices]
    shown = poisoned.labels[poisoned.poison_indices]
    print(f"{args.benchmark} {args.loss} seed {args.seed}: {result.metrics}")
    print("T true class, P poisoned label, . other; one character per epoch")
    for sample, (index, label, poison) in enumerate(zip(poisoned.poison_indices.tolist(), true, shown, strict=True)):
        if history[-1][0][sample] != poison and history[-1][1][sample] != poison:
            continue
        lines = []
        for name, which in (("with the metric's crop", 0), ("without", 1)):
            codes = "".join(
                "T" if h[which][sample] == label else "P" if h[which][sample] == poison else "." for h in history
            )
            lines.append(f"  {name:>22}: {codes}")
        print(f"training sample {index} (true {int(label)}, poisoned {int(poison)})\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
