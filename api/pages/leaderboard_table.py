"""The leaderboard page's table: its columns (metric, direction) and the best value of each."""

from dataclasses import dataclass

from api.schemas import LeaderboardPublic
from harness.result import PUBLISHED_METRICS


@dataclass(frozen=True)
class MetricColumn:
    metric: str
    higher_is_better: bool
    description: str = ""

    @property
    def arrow(self) -> str:
        return "↑" if self.higher_is_better else "↓"

    def best(self, values: list[float]) -> float | None:
        if not values:
            return None
        return max(values) if self.higher_is_better else min(values)


# The benchmark's published metrics per benchmark, in the result schema's order (the paper's).
BENCHMARK_COLUMNS = tuple(MetricColumn(m.name, m.higher_is_better, m.description) for m in PUBLISHED_METRICS)
MEAN_COLUMN = MetricColumn("mean_robust_score", higher_is_better=True, description="robust_score, mean over the suite")


def best_values(board: LeaderboardPublic) -> dict[tuple[str, str], float | None]:
    """(benchmark, metric) -> the best value in that column; ("", "mean_robust_score") for the suite's mean."""
    best = {
        (benchmark, column.metric): column.best([entry.benchmarks[benchmark][column.metric] for entry in board.data])
        for benchmark in board.benchmarks
        for column in BENCHMARK_COLUMNS
    }
    best[("", MEAN_COLUMN.metric)] = MEAN_COLUMN.best([entry.mean_robust_score for entry in board.data])
    return best
