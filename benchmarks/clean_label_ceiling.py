"""How much room a loss leaves on a benchmark: the same loss trained on the clean labels, against its poisoned runs.

The poison is drawn exactly as in a normal run and measured as usual (poison_fit counts the poisoned samples on
which the model predicts the poisoned label), but the loss is shown the clean labels. So the clean-label run is what
the loss would reach if it undid the poison completely, and its robust_score minus the poisoned run's is the room a
better poison-robust loss has left (docs/reference-loss.md). The poisoned runs are read from loss_table.py's results.

    python benchmarks/clean_label_ceiling.py --loss inverse_flip_correction --seeds 1 2 3 4 5 --jobs 2 \
        --results-dir benchmarks/results
"""

import argparse
import dataclasses
import json
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from loss_table import METRICS, load_metrics, mean_std

from harness.losses import loss_path
from harness.registry import benchmarks_in


def show_the_loss_clean_labels() -> None:
    """Worker initialiser: every training epoch in this process hands the loss the clean labels instead of the
    poisoned ones. Evaluation still reads the poisoned labels, so poison_fit means what it means in a normal run."""
    from harness import trainer

    poisoned_epoch = trainer.train_one_epoch

    def clean_epoch(model, optimizer, data, *args):
        return poisoned_epoch(model, optimizer, dataclasses.replace(data, train_labels=data.clean_train_labels), *args)

    trainer.train_one_epoch = clean_epoch


def run_on_clean_labels(suite: str, benchmark_name: str, loss: str, seed: int, results_dir: Path) -> Path:
    """Train one (loss, benchmark, seed) in a clean-label worker, unless its result file exists."""
    import torch

    from harness import trainer
    from harness.datasets import load_splits
    from harness.loss_file import load_loss, sha256_of
    from harness.registry import get_benchmark

    out = results_dir / f"{suite}-clean-labels" / benchmark_name / f"{loss}-seed{seed}.json"
    source = loss_path(loss).read_text()
    if out.exists() and json.loads(out.read_text())["loss_sha256"] == sha256_of(source):
        return out
    torch.set_num_threads(1)
    benchmark = get_benchmark(benchmark_name, suite)
    result = trainer.run(
        benchmark,
        load_loss(source, f"{loss}.py"),
        load_splits(benchmark, Path("data")),
        seed=seed,
        poison_seed=seed,
        device=torch.device("cpu"),
        loss_sha256=sha256_of(source),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(result.to_json())
    print(f"{benchmark_name} {loss} seed {seed} on clean labels: {result.metrics}", file=sys.stderr, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="proxy", choices=["proxy", "smoke"])
    parser.add_argument("--loss", default="inverse_flip_correction", help="a shipped loss name (harness/losses)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    parser.add_argument("--benchmarks", nargs="+", help="default: every benchmark of the suite")
    parser.add_argument("--results-dir", type=Path, default=Path("var/loss-table"))
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()

    benchmarks = args.benchmarks or [b.name for b in benchmarks_in(args.suite)]
    jobs = [(b, seed) for seed in args.seeds for b in benchmarks]
    with ProcessPoolExecutor(max_workers=args.jobs, initializer=show_the_loss_clean_labels) as pool:
        futures = {
            job: pool.submit(run_on_clean_labels, args.suite, job[0], args.loss, job[1], args.results_dir)
            for job in jobs
        }
        clean = {job: load_metrics(future.result()) for job, future in futures.items()}
    print(f"Suite `{args.suite}`, loss `{args.loss}`, seeds {', '.join(map(str, args.seeds))}.\n")
    print("| benchmark | labels the loss saw | test_acc | poison_fit | robust_score | clean minus poisoned, per seed |")
    print("|---|---|---|---|---|---|")
    for b in benchmarks:
        poisoned_runs = [
            load_metrics(args.results_dir / args.suite / b / f"{args.loss}-seed{seed}.json") for seed in args.seeds
        ]
        clean_runs = [clean[(b, seed)] for seed in args.seeds]
        gaps = [c["robust_score"] - p["robust_score"] for c, p in zip(clean_runs, poisoned_runs, strict=True)]
        room = f"{', '.join(f'{g:+.3f}' for g in gaps)} (mean {statistics.mean(gaps):+.3f})"
        for shown, runs, gap in (("poisoned", poisoned_runs, ""), ("clean", clean_runs, room)):
            cells = " | ".join(mean_std([r[metric] for r in runs]) for metric in METRICS)
            print(f"| {b} | {shown} | {cells} | {gap} |")


if __name__ == "__main__":
    main()
