"""GET /api/leaderboard.csv: the JSON leaderboard's rows and columns as CSV, quoted, formulas made inert."""

import csv
import io

from db.models import SubmissionKind
from harness.registry import Suite, benchmark_names

RANK_FIELDS = ("rank_best", "rank_worst", "provisional", "legacy")
NASTY_NAME = 'comma, "quotes"\nand a line'


def _rows(client, **params) -> list[dict[str, str]]:
    response = client.get("/api/leaderboard.csv", params=params)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(response.text)))


def test_the_csv_parses_back_to_the_json_leaderboard_rounded_to_4_decimals(client, factory):
    baseline = factory.submission(kind=SubmissionKind.BASELINE, trials=2)
    nasty = factory.submission(trials=2)
    nasty.name = NASTY_NAME
    factory.finish(baseline, robust_score={1: 0.6, 2: 0.61})
    factory.finish(nasty, robust_score={1: 0.71234567891234})  # provisional: one trial, no sd nor interval
    board = client.get("/api/leaderboard").json()
    rows = _rows(client)
    assert len(rows) == board["count"] == 2
    for row, entry in zip(rows, board["data"], strict=True):
        assert tuple(row[f] for f in RANK_FIELDS) == tuple(
            "" if entry[f] is None else str(entry[f]) for f in RANK_FIELDS
        )
        assert (row["name"], row["participant"], row["kind"], row["recorded"]) == (
            entry["name"],
            entry["participant"],
            entry["kind"],
            str(entry["recorded"]),
        )
        estimates = {"headline": entry["headline"]} | {
            f"{benchmark}_{metric}": value
            for benchmark, metrics in entry["benchmarks"].items()
            for metric, value in metrics.items()
        }
        for prefix, estimate in estimates.items():
            assert int(row[f"{prefix}_n"]) == estimate["n"]
            for field in ("mean", "sd", "ci_low", "ci_high"):
                shown = row[f"{prefix}_{field}"]
                assert shown == "" if estimate[field] is None else float(shown) == round(estimate[field], 4)
    # the complete baseline ranked first, the provisional entry after it with no rank although its mean is higher
    assert (rows[0]["rank_best"], rows[0]["rank_worst"], rows[1]["rank_best"]) == ("1", "1", "")
    assert rows[1]["name"] == NASTY_NAME and rows[1]["headline_mean"] == "0.7123" and rows[1]["headline_sd"] == ""


def test_the_csv_has_a_header_even_for_an_empty_suite_and_refuses_an_unknown_one(client):
    response = client.get("/api/leaderboard.csv", params={"suite": "proxy"})
    header = next(csv.reader(io.StringIO(response.text)))
    assert header[:9] == ["rank_best", "rank_worst", "provisional", "legacy", "name", "kind", "participant",
                          "recorded", "headline_n"]  # fmt: skip
    # five figures for the headline, the transfer's mark, rank interval, flip design and five figures, five for each
    # benchmark and metric
    assert header[13:22] == ["transfer_provisional", "transfer_rank_best", "transfer_rank_worst",
                             "transfer_flip_design", "transfer_n", "transfer_mean", "transfer_sd", "transfer_ci_low",
                             "transfer_ci_high"]  # fmt: skip
    assert len(header) == 8 + 5 + 9 + 5 * 5 * len(benchmark_names(Suite.PROXY))
    assert header[-1] == f"{benchmark_names(Suite.PROXY)[-1]}_robust_score_ci_high"
    refused = client.get("/api/leaderboard.csv", params={"suite": "imagenet"})
    assert refused.status_code == 422 and "suite" in refused.json()["detail"]


def test_a_name_a_spreadsheet_would_run_as_a_formula_is_made_inert(client, factory):
    submission = factory.submission()
    submission.name = '=HYPERLINK("http://evil.example")'
    factory.finish(submission)
    assert _rows(client)[0]["name"] == '\'=HYPERLINK("http://evil.example")'
