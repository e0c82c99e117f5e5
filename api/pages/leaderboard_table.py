"""The leaderboard page's cells: an estimate as mean ± half-width, a shared rank marked as a tie, a safe link."""

from collections import Counter
from collections.abc import Iterable
from urllib.parse import urlsplit

from api.schemas import EstimatePublic

# The metrics a row's details show per benchmark, in the paper's order; robust_score is the row's own column.
DETAIL_METRICS = ("test_acc", "poison_fit", "clean_fit", "robust_score")


def plus_minus(estimate: EstimatePublic) -> str:
    """'0.750 ± 0.012': the mean and the half-width of its 95 % interval; the mean alone when n < 2.

    Three decimals: the noise between two training seeds is 0.005-0.02 robust_score (docs/statistics.md), so a
    fourth decimal would only show noise.
    """
    if estimate.ci_low is None or estimate.ci_high is None:
        return f"{estimate.mean:.3f}"
    return f"{estimate.mean:.3f} ± {(estimate.ci_high - estimate.ci_low) / 2:.3f}"


def shared_ranks(ranks: Iterable[int | None]) -> set[int]:
    """The ranks held by more than one entry: none of those entries is shown better than the others."""
    counts = Counter(rank for rank in ranks if rank is not None)
    return {rank for rank, count in counts.items() if count > 1}


def safe_link(url: str | None) -> str | None:
    """`url` if it is an http(s) address, else None: a javascript: or data: link must never become clickable."""
    if url is None:
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None
