"""Judge a CPU suite by the order it reproduces: the six service entries on every benchmark over n paired trials,
side by side with the published table, with every target of the calibration checked and printed.

Trains what is missing (through loss_table.py's resumable runs; trial t is training seed t and poison seed t) and
prints docs/proxy-calibration.md's tables: per cell the mean with its 95% t-interval and sd, the order next to the
published order, and every pair the targets speak of; the headline with paired differences and Kendall's tau;
the collapse check; the noise; the wall time.

    python benchmarks/calibration.py --suite proxy --trials 1 2 3 4 5 --jobs 2 --results-dir var/calibration
"""

import argparse
import itertools
import json
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from loss_table import run_one
from paired_differences import paired_summary
from scipy import stats

from harness.registry import benchmark_names
from harness.result import PRIMARY_METRIC
from scoring.statistics import estimate

# Published robust_score per (entry, benchmark): the baselines and the best method from the published table, the
# second method from its run record (docs/published-results.md).
PUBLISHED = {
    "inverse_flip_correction": (0.944, 0.840, 0.971),
    "truncated_gce_ce": (0.934, 0.828, 0.961),
    "generalized_ce": (0.932, 0.821, 0.964),
    "symmetric_ce": (0.914, 0.761, 0.968),
    "cross_entropy": (0.892, 0.619, 0.968),
    "bootstrap": (0.894, 0.559, 0.970),
}
ENTRIES = list(PUBLISHED)
CLEAR_GAP = 0.02  # published pairs further apart than this must come out in the published order
CLOSE_GAP = 0.01  # published pairs this close must lie within CLOSE_TOLERANCE here
CLOSE_TOLERANCE = 0.02
COLLAPSE_RATIO = 0.9  # every loss's test_acc at least this share of generalized_ce's, per cell and trial
MAX_CELL_SD = 0.02
MAX_HEADLINE_DIFFERENCE_SD = 0.012
MIN_KENDALL_TAU = 0.8


def published_headline(entry: str) -> float:
    return statistics.mean(PUBLISHED[entry])


def load(results_dir: Path, suite: str, trials: list[int]) -> dict[tuple[str, str], list[dict]]:
    """(entry, benchmark) -> one result dict per trial, in trial order; only complete (entry, benchmark) pairs."""
    table = {}
    for entry, benchmark in itertools.product(ENTRIES, benchmark_names(suite)):
        paths = [results_dir / suite / benchmark / f"{entry}-seed{t}.json" for t in trials]
        if all(p.is_file() for p in paths):
            table[(entry, benchmark)] = [json.loads(p.read_text()) for p in paths]
    return table


def interval(values: list[float]) -> str:
    found = estimate(values)  # the 95 % t-interval the board shows
    if found.half_width is None:
        return f"{found.mean:.3f}"
    return f"{found.mean:.3f} ± {found.half_width:.3f} (sd {found.sd:.3f})"


def check(ok: bool) -> str:
    return "yes" if ok else "**no**"


def cell_report(table: dict, benchmark: str, column: int) -> tuple[str, list[bool]]:
    """One benchmark's table, its order against the published one, and its pair targets."""
    scores = {e: [r["metrics"][PRIMARY_METRIC] for r in table[(e, benchmark)]] for e in ENTRIES}
    accuracy = {e: [r["metrics"]["test_acc"] for r in table[(e, benchmark)]] for e in ENTRIES}
    fits = {e: [r["metrics"]["poison_fit"] for r in table[(e, benchmark)]] for e in ENTRIES}
    lines = [
        f"### {benchmark}",
        "",
        "| entry | published | robust_score, mean ± 95% | test_acc | poison_fit |",
        "|---|---|---|---|---|",
    ]
    for e in sorted(ENTRIES, key=lambda e: -statistics.mean(scores[e])):
        lines.append(
            f"| {e} | {PUBLISHED[e][column]:.3f} | {interval(scores[e])} | {statistics.mean(accuracy[e]):.3f} "
            f"| {statistics.mean(fits[e]):.3f} |"
        )
    means = {e: statistics.mean(scores[e]) for e in ENTRIES}
    published_order = sorted(ENTRIES, key=lambda e: -PUBLISHED[e][column])
    lines += [
        "",
        "Order here: " + " > ".join(sorted(ENTRIES, key=lambda e: -means[e])),
        "Published:  " + " > ".join(published_order),
        "",
    ]
    verdicts = []
    for a, b in itertools.combinations(ENTRIES, 2):
        gap = round(PUBLISHED[a][column] - PUBLISHED[b][column], 3)  # the table has 3 decimals
        here = means[a] - means[b]
        if abs(gap) > CLEAR_GAP:
            ok = gap * here > 0
            lines.append(f"- clear pair {a} − {b}: published {gap:+.3f}, here {here:+.3f}: same order {check(ok)}")
            verdicts.append(ok)
        elif abs(gap) <= CLOSE_GAP:
            ok = abs(here) <= CLOSE_TOLERANCE
            lines.append(f"- close pair {a} − {b}: published {gap:+.3f}, here {here:+.3f}: within 0.02 {check(ok)}")
            verdicts.append(ok)
    sds = {e: statistics.stdev(scores[e]) for e in ENTRIES if len(scores[e]) > 1}
    noisy = [e for e, sd in sds.items() if sd > MAX_CELL_SD]
    verdicts.append(not noisy)
    lines.append(f"- sd of robust_score ≤ {MAX_CELL_SD} for every entry: {check(not noisy)} {noisy or ''}")
    reference = accuracy["generalized_ce"]
    collapsed = [
        (e, t + 1)
        for e in ENTRIES
        for t, (acc, ref) in enumerate(zip(accuracy[e], reference, strict=True))
        if acc < COLLAPSE_RATIO * ref
    ]
    verdicts.append(not collapsed)
    lines.append(
        f"- no collapse (test_acc ≥ 0.9 × generalized_ce's, every trial): {check(not collapsed)} {collapsed or ''}"
    )
    return "\n".join(lines), verdicts


def headline_report(table: dict, benchmarks: list[str]) -> tuple[str, list[bool]]:
    per_trial = {
        e: [
            statistics.mean(scores)
            for scores in zip(*([r["metrics"][PRIMARY_METRIC] for r in table[(e, b)]] for b in benchmarks), strict=True)
        ]
        for e in ENTRIES
    }
    n = len(per_trial[ENTRIES[0]])
    lines = [
        "### Headline (mean robust_score over the three cells)",
        "",
        "| entry | published | here, mean ± 95% |",
        "|---|---|---|",
    ]
    for e in sorted(ENTRIES, key=lambda e: -statistics.mean(per_trial[e])):
        lines.append(f"| {e} | {published_headline(e):.3f} | {interval(per_trial[e])} |")
    verdicts, difference_sds = [], []
    lines += ["", f"Paired differences over {n} trials (95% t-interval):", ""]
    for a, b in itertools.combinations(ENTRIES, 2):
        differences = [x - y for x, y in zip(per_trial[a], per_trial[b], strict=True)]
        mean, low, high = paired_summary(differences)
        sd = statistics.stdev(differences) if n > 1 else float("nan")
        difference_sds.append(sd)
        gap = round(published_headline(a) - published_headline(b), 3)
        verdict = ""
        if abs(gap) > CLEAR_GAP:
            ok = gap * mean > 0 and n > 1 and (low > 0 if gap > 0 else high < 0)
            verdicts.append(ok)
            verdict = f"clear published gap {gap:+.3f}: same order and significant {check(ok)}"
        lines.append(f"- {a} − {b}: {mean:+.4f} [{low:+.4f}, {high:+.4f}], sd {sd:.4f}. {verdict}")
    tau = stats.kendalltau(
        [published_headline(e) for e in ENTRIES], [statistics.mean(per_trial[e]) for e in ENTRIES]
    ).statistic
    verdicts.append(tau >= MIN_KENDALL_TAU)
    worst_sd = max(difference_sds)
    verdicts.append(worst_sd <= MAX_HEADLINE_DIFFERENCE_SD)
    lines += [
        "",
        f"- Kendall τ against the published headline order: {tau:.2f} (target ≥ {MIN_KENDALL_TAU}): "
        f"{check(tau >= MIN_KENDALL_TAU)}",
        f"- largest sd of a paired headline difference: {worst_sd:.4f} (target ≤ {MAX_HEADLINE_DIFFERENCE_SD}): "
        f"{check(worst_sd <= MAX_HEADLINE_DIFFERENCE_SD)}",
    ]
    return "\n".join(lines), verdicts


def wall_report(table: dict, benchmarks: list[str]) -> str:
    lines = [
        "### Wall time per run (seconds, mean over every entry and trial; threads as run)",
        "",
        "| benchmark | wall s | train s |",
        "|---|---|---|",
    ]
    for b in benchmarks:
        runs = [r for e in ENTRIES for r in table[(e, b)]]
        lines.append(
            f"| {b} | {statistics.mean(r['wall_seconds'] for r in runs):.0f} "
            f"| {statistics.mean(r['train_seconds'] for r in runs):.0f} |"
        )
    return "\n".join(lines)


def report(table: dict, suite: str, trials: list[int]) -> str:
    """The calibration tables of every complete cell, and the headline once all three are complete."""
    official = benchmark_names("official")
    parts, verdicts = [f"Suite `{suite}`, trials {', '.join(map(str, trials))} (training seed = poison seed = t)."], []
    complete = [b for b in benchmark_names(suite) if all((e, b) in table for e in ENTRIES)]
    for b in complete:
        text, cell_verdicts = cell_report(table, b, official.index(b))
        parts.append(text)
        verdicts += cell_verdicts
    if len(complete) == len(official):
        text, headline_verdicts = headline_report(table, complete)
        parts += [text, wall_report(table, complete)]
        verdicts += headline_verdicts
    parts.append(f"Targets met: {sum(verdicts)} of {len(verdicts)} checks on {len(complete)} complete cells.")
    return "\n\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="proxy")
    parser.add_argument("--trials", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    parser.add_argument("--benchmarks", nargs="+", help="default: every benchmark of the suite")
    parser.add_argument("--results-dir", type=Path, default=Path("var/calibration"))
    parser.add_argument("--jobs", type=int, default=2, help="runs in parallel (0: only print what exists)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--data-root", type=Path, default=Path("data"), help="the datasets folder")
    parser.add_argument("--out", type=Path, help="also write the report here")
    args = parser.parse_args()
    benchmarks = args.benchmarks or benchmark_names(args.suite)
    if args.jobs:
        # Trial by trial, so an interrupted calibration has complete trials to report.
        jobs = [(e, b, t) for t in args.trials for b in benchmarks for e in ENTRIES]
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            for future in [
                pool.submit(run_one, args.suite, b, e, t, args.results_dir, args.data_root, args.threads)
                for e, b, t in jobs
            ]:
                future.result()
    text = report(load(args.results_dir, args.suite, args.trials), args.suite, args.trials)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
