"""How much room a loss leaves on a benchmark: the same loss trained on the clean labels, against its poisoned runs.

The poison is drawn exactly as in a normal run and measured as usual (poison_fit counts the poisoned samples on
which the model predicts the poisoned label), but the loss is shown the clean labels. So the clean-label run is what
the loss would reach if it undid the poison completely, and its robust_score minus the poisoned run's is the room a
better poison-robust loss has left (docs/published-methods.md). The poisoned runs are read from loss_table.py's results.

    python benchmarks/clean_label_ceiling.py --loss inverse_flip_correction --seeds 1 2 3 4 5 --jobs 2 \
        --results-dir benchmarks/results
"""

import argparse
import dataclasses
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from loss_table import METRICS, load_metrics, mean_std, refuse_unknown_losses, run_one

from harness.registry import benchmark_names
from harness.result import PRIMARY_METRIC


def show_the_loss_clean_labels() -> None:
    """Worker initialiser: every training epoch in this process hands the loss the clean labels instead of the
    poisoned ones. Evaluation still reads the poisoned labels, so poison_fit means what it means in a normal run."""
    from harness import trainer

    poisoned_epoch = trainer.train_one_epoch

    def clean_epoch(model, optimizer, data, *args):
        return poisoned_epoch(model, optimizer, dataclasses.replace(data, train_labels=data.clean_train_labels), *args)

    trainer.train_one_epoch = clean_epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="proxy", choices=["proxy", "smoke"])
    parser.add_argument("--loss", default="inverse_flip_correction", help="a shipped loss name (harness/losses)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    parser.add_argument("--benchmarks", nargs="+", help="default: every benchmark of the suite")
    parser.add_argument("--results-dir", type=Path, default=Path("var/loss-table"))
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()

    known = benchmark_names(args.suite)
    benchmarks = args.benchmarks or known
    if unknown := sorted(set(benchmarks) - set(known)):
        parser.error(f"no {args.suite} benchmark {', '.join(unknown)}; known: {', '.join(known)}")
    refuse_unknown_losses(parser, [args.loss])
    jobs = [(b, seed) for seed in args.seeds for b in benchmarks]
    poisoned = {job: args.results_dir / args.suite / job[0] / f"{args.loss}-seed{job[1]}.json" for job in jobs}
    if missing := [str(path) for path in poisoned.values() if not path.exists()]:
        parser.error(
            f"no poisoned run to compare with: {', '.join(missing)}; make them first with python "
            f"benchmarks/loss_table.py --suite {args.suite} --losses {args.loss} --seeds "
            f"{' '.join(map(str, args.seeds))} --results-dir {args.results_dir}"
        )
    clean_dir = args.results_dir / "clean-labels"  # the same runs as loss_table.py's, kept apart from them
    with ProcessPoolExecutor(max_workers=args.jobs, initializer=show_the_loss_clean_labels) as pool:
        futures = {
            job: pool.submit(run_one, args.suite, job[0], args.loss, job[1], clean_dir, Path("data"), 1) for job in jobs
        }
        clean = {job: load_metrics(future.result()) for job, future in futures.items()}
    print(f"Suite `{args.suite}`, loss `{args.loss}`, seeds {', '.join(map(str, args.seeds))}.\n")
    print("| benchmark | labels the loss saw | test_acc | poison_fit | robust_score | clean minus poisoned, per seed |")
    print("|---|---|---|---|---|---|")
    for b in benchmarks:
        poisoned_runs = [load_metrics(poisoned[(b, seed)]) for seed in args.seeds]
        clean_runs = [clean[(b, seed)] for seed in args.seeds]
        gaps = [c[PRIMARY_METRIC] - p[PRIMARY_METRIC] for c, p in zip(clean_runs, poisoned_runs, strict=True)]
        room = f"{', '.join(f'{g:+.3f}' for g in gaps)} (mean {statistics.mean(gaps):+.3f})"
        for shown, runs, gap in (("poisoned", poisoned_runs, ""), ("clean", clean_runs, room)):
            cells = " | ".join(mean_std([r[metric] for r in runs]) for metric in METRICS)
            print(f"| {b} | {shown} | {cells} | {gap} |")


if __name__ == "__main__":
    main()
