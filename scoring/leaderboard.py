"""The leaderboard's arithmetic over trials: each cell and the headline as an estimate with its interval, the
noise-aware rank, provisional entries, and the paired comparisons a submission's page shows.

Every statistic comes from scoring/statistics.py; this module only decides what is compared with what.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from harness.board_rows import ShownSubmission, TrialRow
from harness.plan import SuitePlan
from harness.result import METRIC_NAMES, PRIMARY_METRIC
from scoring.statistics import (
    Estimate,
    TrialKey,
    average_ranks,
    estimates,
    headline_per_trial,
    is_provisional,
    noise_aware_ranks,
    paired_difference,
)

HEADLINE = "headline"  # the scope of a comparison of headlines, beside the benchmarks' names


def trial_key(trial: int, legacy_seed: bool) -> TrialKey:
    """Legacy trial k (trained before trials, with the old global poison seed) is paired only with legacy trial k,
    never with today's trial k: it gets the key -k."""
    return -trial if legacy_seed else trial


@dataclass
class TrialScores:
    """One submission's succeeded runs: benchmark -> metric -> trial -> value."""

    submission: ShownSubmission
    cells: dict[str, dict[str, dict[TrialKey, float]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(dict))
    )

    def robust_scores(self) -> dict[str, dict[TrialKey, float]]:
        return {benchmark: metrics.get(PRIMARY_METRIC, {}) for benchmark, metrics in self.cells.items()}

    def headline(self, benchmarks: Sequence[str]) -> dict[TrialKey, float]:
        """The mean robust_score over the suite's benchmarks on each trial complete on all of them."""
        return headline_per_trial(self.robust_scores(), benchmarks)


@dataclass
class LeaderboardEntry:
    scores: TrialScores
    headline_by_trial: dict[TrialKey, float]
    headline: Estimate
    benchmarks: dict[str, dict[str, Estimate]]  # benchmark -> metric -> estimate over its trials
    provisional: bool
    trials_planned: int
    average_rank: float = 0.0  # mean over benchmarks of the rank by mean robust_score, ties sharing the mean rank
    rank: int = 0  # 1 + the entries significantly better (scoring.statistics.noise_aware_ranks)
    # The transfer track (docs/transfer.md): the headline's mean over the hidden-flip benchmarks, beside the
    # headline and not in it, with its own noise-aware rank among the entries that have it; None until a trial of
    # it is complete.
    transfer_by_trial: dict[TrialKey, float] = field(default_factory=dict)
    transfer: Estimate | None = None
    transfer_rank: int | None = None

    @property
    def submission(self) -> ShownSubmission:
        return self.scores.submission

    @property
    def trials_complete(self) -> int:
        return len(self.headline_by_trial)


@dataclass(frozen=True)
class Comparison:
    """The paired difference subject - against over their shared trials, on the headline or one benchmark."""

    against: ShownSubmission
    is_leader: bool
    scope: str  # HEADLINE or a benchmark's name
    difference: Estimate


def group_by_submission(rows: Iterable[TrialRow]) -> dict[int, TrialScores]:
    """The query's rows (db.queries.leaderboard) by submission: id -> its scores by benchmark, metric and trial."""
    scores: dict[int, TrialScores] = {}
    for row in rows:
        entry = scores.setdefault(row.submission.id, TrialScores(row.submission))
        for metric, value in row.metrics.items():
            entry.cells[row.benchmark][metric][trial_key(row.trial, row.legacy_seed)] = value
    return scores


def rank_entries(scores: Mapping[int, TrialScores], plan: SuitePlan) -> list[LeaderboardEntry]:
    """Entries with at least one trial complete on every benchmark of the plan, in board order: by rank, then by
    mean headline; each with its transfer score and rank once it has a complete transfer trial.

    An entry with fewer complete trials than the plan's is provisional: shown with its n, ranked with what it has
    (sharing fewer than 2 trials with another entry, it neither beats it nor is beaten).
    """
    benchmarks, trials_planned = plan.benchmarks, len(plan.trials)
    headlines = {sid: s.headline(benchmarks) for sid, s in scores.items()}
    shown = [sid for sid, headline in headlines.items() if headline]
    cells = [
        (sid, benchmark, metric, list(scores[sid].cells[benchmark][metric].values()))
        for sid in shown
        for benchmark in benchmarks
        for metric in METRIC_NAMES
        if scores[sid].cells[benchmark][metric]
    ]
    # One vectorised pass over every cell and headline: a 1,000-entry board has 25,000 of them.
    computed = estimates([values for *_, values in cells] + [list(headlines[sid].values()) for sid in shown])
    per_cell: dict[int, dict[str, dict[str, Estimate]]] = {sid: defaultdict(dict) for sid in shown}
    for (sid, benchmark, metric, _), estimate in zip(cells, computed, strict=False):
        per_cell[sid][benchmark][metric] = estimate
    entries = [
        LeaderboardEntry(
            scores=scores[sid],
            headline_by_trial=headlines[sid],
            headline=headline,
            benchmarks=dict(per_cell[sid]),
            provisional=is_provisional(headlines[sid], trials_planned),
            trials_planned=trials_planned,
        )
        for sid, headline in zip(shown, computed[len(cells) :], strict=True)
    ]
    ranks = noise_aware_ranks({entry.submission.id: entry.headline_by_trial for entry in entries})
    average = average_ranks(
        {e.submission.id: {b: e.benchmarks[b][PRIMARY_METRIC].mean for b in benchmarks} for e in entries}, benchmarks
    )
    for entry in entries:
        entry.rank = ranks[entry.submission.id]
        entry.average_rank = average[entry.submission.id]
    _rank_transfer(entries, plan.transfer_benchmarks)
    entries.sort(key=lambda e: (e.rank, -e.headline.mean, e.average_rank, e.submission.id))
    return entries


def _rank_transfer(entries: Sequence[LeaderboardEntry], transfer_benchmarks: Sequence[str]) -> None:
    """Each entry's transfer score over its complete transfer trials, and its rank among those that have one."""
    for entry in entries:
        entry.transfer_by_trial = entry.scores.headline(transfer_benchmarks)
    with_transfer = [e for e in entries if e.transfer_by_trial]
    computed = estimates([list(e.transfer_by_trial.values()) for e in with_transfer])
    for entry, estimate in zip(with_transfer, computed, strict=True):
        entry.transfer = estimate
    ranks = noise_aware_ranks({e.submission.id: e.transfer_by_trial for e in with_transfer})
    for entry in with_transfer:
        entry.transfer_rank = ranks[entry.submission.id]


def comparisons(subject: TrialScores, board: Sequence[LeaderboardEntry], benchmarks: Sequence[str]) -> list[Comparison]:
    """`subject` against every baseline and published method on the board and against the leader (the first other
    entry), on the headline and on each benchmark's robust_score, paired over the trials both have."""
    others = [entry for entry in board if entry.submission.id != subject.submission.id]
    leader = others[0] if others else None
    return [
        Comparison(entry.submission, entry is leader, scope, difference)
        for entry in others
        if entry.submission.reference or entry is leader
        for scope, difference in paired_differences(subject, entry.scores, benchmarks)
    ]


def paired_differences(a: TrialScores, b: TrialScores, benchmarks: Sequence[str]) -> list[tuple[str, Estimate]]:
    """(scope, a - b paired over their shared trials) for the headline and each benchmark's robust_score. A scope
    they share no trial on is left out: there is nothing to pair."""
    mine = {HEADLINE: a.headline(benchmarks), **a.robust_scores()}
    theirs = {HEADLINE: b.headline(benchmarks), **b.robust_scores()}
    return [
        (scope, paired_difference(mine[scope], theirs[scope]))
        for scope in (HEADLINE, *benchmarks)
        if mine.get(scope, {}).keys() & theirs.get(scope, {}).keys()
    ]
