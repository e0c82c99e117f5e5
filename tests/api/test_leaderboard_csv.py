"""GET /api/leaderboard.csv: the JSON leaderboard's rows and columns as CSV, quoted, formulas made inert."""

import csv
import io

from db.models import SubmissionKind
from harness.registry import Suite, benchmark_names

NASTY_NAME = 'comma, "quotes"\nand a line'


def _rows(client, **params) -> list[dict[str, str]]:
    response = client.get("/api/leaderboard.csv", params=params)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(response.text)))


def test_the_csv_parses_back_to_the_json_leaderboard(client, factory):
    baseline = factory.submission(kind=SubmissionKind.BASELINE)
    nasty = factory.submission()
    nasty.name = NASTY_NAME
    factory.finish(baseline, robust_score=0.6)
    factory.finish(nasty, robust_score=0.71234567891234)
    board = client.get("/api/leaderboard").json()
    rows = _rows(client)
    assert len(rows) == board["count"] == 2
    for row, entry in zip(rows, board["data"], strict=True):
        assert (int(row["rank"]), row["name"], row["participant"], row["kind"]) == (
            entry["rank"],
            entry["name"],
            entry["participant"],
            entry["kind"],
        )
        for benchmark in board["benchmarks"]:
            for metric in ("test_acc", "poison_fit", "robust_score"):
                assert float(row[f"{benchmark} {metric}"]) == entry["benchmarks"][benchmark][metric]
        assert float(row["mean robust_score"]) == entry["mean_robust_score"]
    assert rows[0]["name"] == NASTY_NAME


def test_the_csv_has_a_header_even_for_an_empty_suite_and_refuses_an_unknown_one(client):
    response = client.get("/api/leaderboard.csv", params={"suite": "proxy"})
    header = next(csv.reader(io.StringIO(response.text)))
    assert header[:4] == ["rank", "name", "participant", "kind"] and header[-1] == "mean robust_score"
    assert len(header) == 4 + 3 * len(benchmark_names(Suite.PROXY)) + 1  # three metrics per benchmark
    refused = client.get("/api/leaderboard.csv", params={"suite": "imagenet"})
    assert refused.status_code == 422 and "suite" in refused.json()["detail"]


def test_a_name_a_spreadsheet_would_run_as_a_formula_is_made_inert(client, factory):
    submission = factory.submission()
    submission.name = "=HYPERLINK(\"http://evil.example\")"
    factory.finish(submission)
    assert _rows(client)[0]["name"] == "'=HYPERLINK(\"http://evil.example\")"
