"""The leaderboard as CSV: one row per entry in board order, every estimate's n, mean, sd and interval; cells a
spreadsheet would run are made inert."""

import csv
import io
import itertools

from api.schemas import EstimatePublic, LeaderboardPublic

CSV_DECIMALS = 4
ESTIMATE_FIELDS = ("n", "mean", "sd", "ci_low", "ci_high")
# A spreadsheet runs a cell that starts with one of these as a formula: a submission name could carry one.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def leaderboard_csv(board: LeaderboardPublic) -> str:
    """Rank interval (best, worst; empty when not ranked), provisional, legacy, name, kind, participant, recorded
    (trained on another machine: compared with entries trained here unpaired), the headline's five fields, the
    transfer's provisional mark, rank interval, flip design and five fields (empty until it has a trial), then the
    five of each benchmark and metric; 4 decimals."""
    cells = [(benchmark, metric.name) for benchmark in board.benchmarks for metric in board.metrics]
    columns = [f"{benchmark}_{metric}_{field}" for benchmark, metric in cells for field in ESTIMATE_FIELDS]
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(
        [
            "rank_best",
            "rank_worst",
            "provisional",
            "legacy",
            "name",
            "kind",
            "participant",
            "recorded",
            *(f"headline_{f}" for f in ESTIMATE_FIELDS),
            "transfer_provisional",
            "transfer_rank_best",
            "transfer_rank_worst",
            "transfer_flip_design",
            *(f"transfer_{f}" for f in ESTIMATE_FIELDS),
            *columns,
        ]
    )
    for entry in board.data:
        estimates = [entry.headline, *(entry.benchmarks[benchmark].get(metric) for benchmark, metric in cells)]
        headline, *per_benchmark = map(_csv_cells, estimates)
        rank = [_blank(entry.rank_best), _blank(entry.rank_worst), entry.provisional, entry.legacy]
        transfer_rank = [
            entry.transfer_provisional,
            _blank(entry.transfer_rank_best),
            _blank(entry.transfer_rank_worst),
            _blank(entry.transfer_flip_design),
        ]
        text = [_inert(entry.name), entry.kind, _inert(entry.participant), entry.recorded]
        writer.writerow(
            [
                *rank,
                *text,
                *headline,
                *transfer_rank,
                *_csv_cells(entry.transfer),
                *itertools.chain.from_iterable(per_benchmark),
            ]
        )
    return table.getvalue()


def _csv_cells(estimate: EstimatePublic | None) -> list[int | float | str]:
    """n, mean, sd, ci_low, ci_high, rounded; empty where there is no value (no interval below 2 trials)."""
    if estimate is None:
        return [""] * len(ESTIMATE_FIELDS)
    values = [getattr(estimate, name) for name in ESTIMATE_FIELDS]
    return [estimate.n, *("" if value is None else round(value, CSV_DECIMALS) for value in values[1:])]


def _blank(value: int | None) -> int | str:
    return "" if value is None else value


def _inert(text: str) -> str:
    """`text` as a spreadsheet shows it, never runs it (OWASP's advice: a leading apostrophe)."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text
