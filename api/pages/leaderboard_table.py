"""The leaderboard page's cells: an estimate as mean ± half-width, a rank interval, a safe link."""

from urllib.parse import urlsplit

from api.schemas import EstimatePublic


def plus_minus(estimate: EstimatePublic) -> str:
    """'0.750 ± 0.012': the mean and the half-width of its 95 % interval; the mean alone when n < 2.

    Three decimals: the noise between two training seeds is 0.005-0.02 robust_score (docs/statistics.md), so a
    fourth decimal would only show noise.
    """
    if estimate.half_width is None:
        return f"{estimate.mean:.3f}"
    return f"{estimate.mean:.3f} ± {estimate.half_width:.3f}"


def rank_text(best: int, worst: int) -> str:
    """'2' when the data place an entry exactly, else the range of places it could hold: '1–3'."""
    return str(best) if best == worst else f"{best}–{worst}"


def rank_title(best: int, worst: int, ranked: int) -> str:
    """The rank cell's tooltip, in words."""
    if best == worst:
        return f"place {best} of {ranked} ranked entries, shown by paired comparisons at 95 %"
    return f"could hold any place from {best} to {worst} of {ranked} ranked entries (paired comparisons at 95 %)"


def safe_link(url: str | None) -> str | None:
    """`url` if it is an http(s) address, else None: a javascript: or data: link must never become clickable."""
    if url is None:
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None
