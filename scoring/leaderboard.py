"""The leaderboard's arithmetic over trials: each cell and the headline as an estimate with its interval, the
noise-aware rank, provisional entries, and the paired comparisons a submission's page shows.

Every statistic comes from scoring/statistics.py; this module only decides what is compared with what.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from harness.board_rows import ShownSubmission, TrialRow
from harness.plan import SuitePlan
from harness.registry import FLIP_DESIGN, is_hidden_flip
from harness.result import METRIC_NAMES, PRIMARY_METRIC
from scoring.statistics import (
    Estimate,
    RankInterval,
    TrialKey,
    average_ranks,
    estimates,
    family_claims,
    headline_per_trial,
    is_provisional,
    look_levels,
    paired_difference,
    rank_intervals,
    unpaired_difference,
)

HEADLINE = "headline"  # the scope of a comparison of headlines, beside the benchmarks' names
TRANSFER = "transfer"  # the scope of a comparison of transfer scores, beside the hidden-flip benchmarks' names
SCORE_RANGE = (0.0, 1.0)  # every metric of a board is a fraction: intervals are clipped to it


def trial_key(trial: int, legacy_seed: bool) -> TrialKey:
    """Legacy trial k (trained before trials, with the old global poison seed) is paired only with legacy trial k,
    never with today's trial k: it gets the key -k."""
    return -trial if legacy_seed else trial


def _cells() -> dict[str, dict[str, dict[TrialKey, float]]]:
    return defaultdict(lambda: defaultdict(dict))


def _primary(cells: Mapping[str, Mapping[str, dict[TrialKey, float]]]) -> dict[str, dict[TrialKey, float]]:
    return {benchmark: metrics.get(PRIMARY_METRIC, {}) for benchmark, metrics in cells.items()}


@dataclass
class TrialScores:
    """One submission's succeeded runs: benchmark -> metric -> trial -> value. Transfer runs of an older flip design
    than harness.registry.FLIP_DESIGN are kept apart, by design: never mixed with the current design's."""

    submission: ShownSubmission
    cells: dict[str, dict[str, dict[TrialKey, float]]] = field(default_factory=_cells)
    older_designs: dict[int | None, dict[str, dict[str, dict[TrialKey, float]]]] = field(
        default_factory=lambda: defaultdict(_cells)
    )

    def robust_scores(self) -> dict[str, dict[TrialKey, float]]:
        return _primary(self.cells)

    def headline(self, benchmarks: Sequence[str]) -> dict[TrialKey, float]:
        """The mean robust_score over the suite's benchmarks on each trial complete on all of them."""
        return headline_per_trial(self.robust_scores(), benchmarks)

    def transfer(self, transfer_benchmarks: Sequence[str]) -> tuple[dict[TrialKey, float], int | None]:
        """The transfer score on each trial and the flip design it is of: the current design's trials complete on
        every transfer benchmark; without one, those of the latest older design that has one (shown, never
        ranked); ({}, None) without either."""
        current = self.headline(transfer_benchmarks)
        if current:
            return current, FLIP_DESIGN
        for design in sorted(self.older_designs, key=lambda design: design or 0, reverse=True):
            by_trial = headline_per_trial(_primary(self.older_designs[design]), transfer_benchmarks)
            if by_trial:
                return by_trial, design
        return {}, None


@dataclass
class LeaderboardEntry:
    scores: TrialScores
    headline_by_trial: dict[TrialKey, float]
    headline: Estimate
    # benchmark -> metric -> estimate over its trials; the hidden-flip benchmarks' of the current design too
    benchmarks: dict[str, dict[str, Estimate]]
    provisional: bool  # fewer complete current trials than the plan's: shown, never ranked
    trials_planned: int
    average_rank: float = 0.0  # mean over benchmarks of the rank by mean robust_score, ties sharing the mean rank
    # The places it could hold among the ranked entries (scoring.statistics.rank_intervals); None when it is not
    # ranked: provisional, or legacy (trials from before trials existed, paired with nothing trained since).
    rank: RankInterval | None = None
    # The transfer track (docs/transfer.md): the headline's mean over the hidden-flip benchmarks, beside the
    # headline and not in it, ranked among the entries with every planned transfer trial; None until a trial of
    # it is complete.
    transfer_by_trial: dict[TrialKey, float] = field(default_factory=dict)
    transfer: Estimate | None = None
    # The hidden flip design the transfer score is of: FLIP_DESIGN, or an older one shown marked and never ranked.
    transfer_flip_design: int | None = None
    transfer_provisional: bool = True
    transfer_rank: RankInterval | None = None

    @property
    def submission(self) -> ShownSubmission:
        return self.scores.submission

    @property
    def trials_complete(self) -> int:
        return len(self.headline_by_trial)

    @property
    def legacy(self) -> bool:
        """Its complete trials are all legacy ones (negative keys): no current trial to pair with anything."""
        return _all_legacy(self.headline_by_trial)


@dataclass(frozen=True)
class ScopeDifference:
    """a - b over their shared trials on one scope, and what may be claimed from it: +1 better, -1 worse, 0
    nothing, by Holm over its track's family (scope_differences)."""

    scope: str  # HEADLINE, TRANSFER or a benchmark's name
    difference: Estimate
    claim: int
    paired: bool  # False: one of the two was recorded on another machine, compared unpaired


@dataclass(frozen=True, kw_only=True)
class Comparison(ScopeDifference):
    """A submission against one entry of the board on one scope: the difference submission - entry."""

    against: ShownSubmission
    is_leader: bool


def group_by_submission(rows: Iterable[TrialRow]) -> dict[int, TrialScores]:
    """The query's rows (db.queries.leaderboard) by submission: id -> its scores by benchmark, metric and trial; a
    transfer run of an older flip design among its design's, apart."""
    scores: dict[int, TrialScores] = {}
    for row in rows:
        entry = scores.setdefault(row.submission.id, TrialScores(row.submission))
        older = is_hidden_flip(row.benchmark) and row.flip_design != FLIP_DESIGN
        cells = entry.older_designs[row.flip_design] if older else entry.cells
        for metric, value in row.metrics.items():
            cells[row.benchmark][metric][trial_key(row.trial, row.legacy_seed)] = value
    return scores


def rank_entries(scores: Mapping[int, TrialScores], plan: SuitePlan) -> list[LeaderboardEntry]:
    """Entries with at least one trial complete on every benchmark of the plan, in board order: the ranked entries
    by mean headline, then the provisional ones, then the legacy ones; each with its transfer score.

    Only entries with every planned trial, on current trials, are ranked, each with its rank interval among them:
    listing by mean puts no entry above a better-mean one, and the interval says which places the data allow.
    """
    benchmarks, trials_planned = plan.benchmarks, len(plan.trials)
    headlines = {sid: s.headline(benchmarks) for sid, s in scores.items()}
    shown = [sid for sid, headline in headlines.items() if headline]
    cells = [
        (sid, benchmark, metric, list(scores[sid].cells[benchmark][metric].values()))
        for sid in shown
        for benchmark in (*benchmarks, *plan.transfer_benchmarks)
        for metric in METRIC_NAMES
        if scores[sid].cells[benchmark][metric]
    ]
    # One vectorised pass over every cell and headline: a 1,000-entry board has 25,000 of them.
    computed = estimates(
        [values for *_, values in cells] + [list(headlines[sid].values()) for sid in shown], bounds=SCORE_RANGE
    )
    per_cell: dict[int, dict[str, dict[str, Estimate]]] = {sid: defaultdict(dict) for sid in shown}
    for (sid, benchmark, metric, _), estimate in zip(cells, computed, strict=False):
        per_cell[sid][benchmark][metric] = estimate
    entries = [
        LeaderboardEntry(
            scores=scores[sid],
            headline_by_trial=headlines[sid],
            headline=headline,
            benchmarks=dict(per_cell[sid]),
            provisional=is_provisional(_current(headlines[sid]), trials_planned) and not _all_legacy(headlines[sid]),
            trials_planned=trials_planned,
        )
        for sid, headline in zip(shown, computed[len(cells) :], strict=True)
    ]
    ranked = [entry for entry in entries if not (entry.provisional or entry.legacy)]
    headlines = {e.submission.id: _current(e.headline_by_trial) for e in ranked}
    ranks = rank_intervals(headlines, plan_looks(plan), elsewhere=_recorded(ranked))
    for entry in ranked:
        entry.rank = ranks[entry.submission.id]
    average = average_ranks(
        {e.submission.id: {b: e.benchmarks[b][PRIMARY_METRIC].mean for b in benchmarks} for e in entries}, benchmarks
    )
    for entry in entries:
        entry.average_rank = average[entry.submission.id]
    _rank_transfer(entries, plan)
    entries.sort(key=lambda e: (e.rank is None, e.legacy, -e.headline.mean, e.average_rank, e.submission.id))
    return entries


def _recorded(entries: Iterable[LeaderboardEntry]) -> set[int]:
    """Entries whose runs were trained on another machine: compared with the others unpaired."""
    return {entry.submission.id for entry in entries if entry.submission.recorded}


def _current(by_trial: Mapping[TrialKey, float]) -> dict[TrialKey, float]:
    return {trial: value for trial, value in by_trial.items() if trial > 0}


def _all_legacy(by_trial: Mapping[TrialKey, float]) -> bool:
    return all(trial < 0 for trial in by_trial)


def _rank_transfer(entries: Sequence[LeaderboardEntry], plan: SuitePlan) -> None:
    """Each entry's transfer score over its complete transfer trials, and its rank interval among the entries with
    every planned transfer trial (provisional below that, as the headline). Only the current flip design's trials
    count: an entry whose transfer trials are all of an older design shows them, marked, with no rank."""
    for entry in entries:
        entry.transfer_by_trial, entry.transfer_flip_design = entry.scores.transfer(plan.transfer_benchmarks)
    with_transfer = [e for e in entries if e.transfer_by_trial]
    computed = estimates([list(e.transfer_by_trial.values()) for e in with_transfer], bounds=SCORE_RANGE)
    for entry, estimate in zip(with_transfer, computed, strict=True):
        entry.transfer = estimate
        entry.transfer_provisional = is_provisional(_current(entry.transfer_by_trial), len(plan.trials))
    complete = [e for e in with_transfer if not e.transfer_provisional and e.transfer_flip_design == FLIP_DESIGN]
    transfers = {e.submission.id: _current(e.transfer_by_trial) for e in complete}
    ranks = rank_intervals(transfers, plan_looks(plan), elsewhere=_recorded(complete))
    for entry in complete:
        entry.transfer_rank = ranks[entry.submission.id]


def open_entries(board: Sequence[LeaderboardEntry], most_trials: int) -> list[LeaderboardEntry]:
    """The ranked entries an extra trial could settle, the most open first: trained by this service (a recorded
    entry's trials ran on another machine), with fewer than `most_trials` complete trials, and whose rank interval
    shares places with the leader's or with a neighbour's in board order. Ordered by the most places shared with
    one of those, then by board order."""
    ranked = [entry for entry in board if entry.rank is not None]
    found = []
    for place, entry in enumerate(ranked):
        if entry.submission.recorded or entry.trials_complete >= most_trials:
            continue
        compared = {0, place - 1, place + 1} - {place}
        shared = max(
            (_places_shared(entry.rank, ranked[other].rank) for other in compared if 0 <= other < len(ranked)),
            default=0,
        )
        if shared:
            found.append((-shared, place, entry))
    return [entry for *_, entry in sorted(found, key=lambda item: item[:2])]


def _places_shared(a: RankInterval, b: RankInterval) -> int:
    return max(0, min(a.worst, b.worst) - max(a.best, b.best) + 1)


def board_leader(board: Sequence[LeaderboardEntry]) -> LeaderboardEntry | None:
    """The first ranked entry in board order (ranked entries come first, by mean); None while none is ranked."""
    return next((entry for entry in board if entry.rank is not None), None)


def comparisons(subject: TrialScores, board: Sequence[LeaderboardEntry], plan: SuitePlan) -> list[Comparison]:
    """`subject` against every baseline and published method on the board and against the leader (the first ranked
    entry other than it), on the headline and on each benchmark's robust_score, paired over the trials both have;
    unpaired (Welch) between an entry trained here and one recorded on another machine, whose runs of the same
    seeds differ.

    Every comparison of the list is one family: a better or worse claim is made only where Holm's procedure over
    all of them rejects "no difference" at 95 % family-wise, so a page of 28 comparisons does not claim by chance.
    """
    others = [entry for entry in board if entry.submission.id != subject.submission.id]
    leader = board_leader(others)
    compared = [entry for entry in others if entry.submission.reference or entry is leader]
    differences = scope_differences([(subject, entry.scores) for entry in compared], plan)
    return [
        Comparison(**vars(found), against=entry.submission, is_leader=entry is leader)
        for entry, found_all in zip(compared, differences, strict=True)
        for found in found_all
    ]


def scope_differences(
    pairs: Sequence[tuple[TrialScores, TrialScores]], plan: SuitePlan
) -> list[list[ScopeDifference]]:
    """Each pair's a - b on every scope they share a trial on: the headline and each benchmark's robust_score, then
    the transfer score and each hidden-flip benchmark's (the current flip design's). Paired over shared trials, or
    unpaired (Welch) between an entry trained here and one recorded on another machine.

    A claim is made only where Holm's procedure over its track's differences of every pair rejects "no difference"
    at 95 % family-wise: the announced flip's scopes are one family and the transfer track's another, so showing
    the transfer track takes nothing from the headline's claims."""
    found_all: list[list[ScopeDifference]] = [[] for _ in pairs]
    tracks = ((HEADLINE, plan.benchmarks), (TRANSFER, plan.transfer_benchmarks))
    for headline, benchmarks in (track for track in tracks if track[1]):  # a suite may have no transfer track
        found = [
            (index, scope, mine, theirs)
            for index, (a, b) in enumerate(pairs)
            for scope, mine, theirs in paired_scopes(a, b, benchmarks, headline)
        ]
        paired = [pairs[index][0].submission.recorded == pairs[index][1].submission.recorded for index, *_ in found]
        claims = family_claims(
            [(mine, theirs) for *_, mine, theirs in found], plan_looks(plan), unpaired=[not p for p in paired]
        )
        for (index, scope, mine, theirs), claim, same in zip(found, claims, paired, strict=True):
            found_all[index].append(ScopeDifference(scope, difference(mine, theirs, same), claim, same))
    return found_all


def difference(mine: Mapping[TrialKey, float], theirs: Mapping[TrialKey, float], paired: bool) -> Estimate:
    """mine - theirs, paired over shared trials or, between machines, unpaired."""
    return paired_difference(mine, theirs) if paired else unpaired_difference(mine, theirs)


def plan_looks(plan: SuitePlan) -> dict[TrialKey, float]:
    """The looks claims are made at: one over every trial, or with extra trials the first K and each one added."""
    return look_levels(len(plan.trials), plan.most_trials)


def paired_scopes(
    a: TrialScores, b: TrialScores, benchmarks: Sequence[str], headline: str = HEADLINE
) -> list[tuple[str, dict[TrialKey, float], dict[TrialKey, float]]]:
    """(scope, a's scores, b's scores) for the mean over `benchmarks` (named `headline`) and each benchmark's
    robust_score they share a trial on: a scope without one has nothing to pair."""
    mine = {headline: a.headline(benchmarks), **a.robust_scores()}
    theirs = {headline: b.headline(benchmarks), **b.robust_scores()}
    return [
        (scope, mine[scope], theirs[scope])
        for scope in (headline, *benchmarks)
        if mine.get(scope, {}).keys() & theirs.get(scope, {}).keys()
    ]
