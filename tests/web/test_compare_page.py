"""The compare page in a browser: entries side by side per benchmark, their paired differences, overlaid curves,
and what to fix when the address names too few entries or one not on the board."""

import pytest
from playwright.sync_api import Page, expect

from db import queries
from db.models import SubmissionKind
from db.session import session_scope
from harness.registry import Suite, benchmark_names, transfer_benchmark_names
from scoring.statistics import estimate, paired_difference

pytestmark = pytest.mark.slow

SMOKE_BENCHMARKS = benchmark_names(Suite.SMOKE)
SMOKE_TRANSFER_BENCHMARKS = transfer_benchmark_names(Suite.SMOKE)
# Three trials: ours - generalized_ce = [0.20, 0.21, 0.21] (p = 0.0003 on every scope) survives Holm over the
# page's differences; with two trials (1 degree of freedom) no difference of the page could.
SCORES = {
    "ours": {1: 0.80, 2: 0.82, 3: 0.81},
    "generalized_ce": {1: 0.60, 2: 0.61, 3: 0.60},
    "close": {1: 0.79, 2: 0.82, 3: 0.80},
}
KINDS = {
    "ours": SubmissionKind.SUBMISSION,
    "generalized_ce": SubmissionKind.BASELINE,
    "close": SubmissionKind.PUBLISHED,
}


def _curve(score: float) -> list[dict]:
    """Two epochs as the trainer records them, ending at `score` (test_acc) and 1 - score (poison_fit)."""
    return [
        {
            "epoch": epoch,
            "official_epoch": epoch * 50,
            "train_loss": 1.0,
            "test_acc": score - 0.1 * (1 - epoch),
            "poison_fit": 1 - score + 0.1 * (1 - epoch),
            "train_seconds": 1.0,
        }
        for epoch in range(2)
    ]


def _seed(settings, factory_for, transfer_scores: dict[str, dict[int, float]] | None = None) -> dict[str, int]:
    """The entries of SCORES, finished; with `transfer_scores`, those entries trained on the transfer track too."""
    ids = {}
    with session_scope(settings.sqlalchemy_url) as session:
        factory = factory_for(session)
        for name, by_trial in SCORES.items():
            transfer = transfer_scores is not None and name in transfer_scores
            submission = factory.submission(kind=KINDS[name], trials=3, transfer=transfer)
            submission.name = name
            for run in submission.runs:
                attempt = queries.runs.claim_run(session, run.id, "test-worker").attempt
                score = (transfer_scores[name] if run.transfer else by_trial)[run.trial]
                result = {**factory.result(robust_score=score), "curve": _curve(score)}
                queries.runs.complete_run(session, run.id, attempt, result, log_tail="")
            ids[name] = submission.id
    return ids


@pytest.fixture
def seeded(service_settings, factory_for) -> dict[str, int]:
    return _seed(service_settings, factory_for)


def _plus_minus(mean: float, half: float, sign: bool = False) -> str:
    text = f"{mean:+.3f} ± {half:.3f}" if sign else f"{mean:.3f} ± {half:.3f}"
    return text.replace("-", "−")


def test_two_entries_side_by_side_with_their_paired_difference_per_benchmark_and_headline(page: Page, base_url, seeded):
    page.goto(f"{base_url}/compare?ids={seeded['ours']},{seeded['generalized_ce']}")
    header = page.locator("#scores thead th")
    expect(header).to_have_count(3)
    expect(header.nth(1)).to_contain_text("ours")
    expect(header.nth(2)).to_contain_text("generalized_ce")
    rows = page.locator("#scores tbody tr")
    expect(rows.locator("th")).to_have_text(["headline", *SMOKE_BENCHMARKS])
    for column, name in ((1, "ours"), (2, "generalized_ce")):
        expected = estimate(list(SCORES[name].values()))
        cell = rows.first.locator("td").nth(column - 1)
        expect(cell).to_have_text(f"{_plus_minus(expected.mean, expected.half_width)} n=3")
    difference = paired_difference(SCORES["ours"], SCORES["generalized_ce"])
    pair = page.locator("#differences tbody tr")
    expect(pair).to_have_count(1)
    expect(pair.locator("th")).to_have_text("ours − generalized_ce")
    for scope in ("headline", *SMOKE_BENCHMARKS):
        cell = pair.locator(f'td[data-scope="{scope}"]')
        expect(cell).to_have_text(f"{_plus_minus(difference.mean, difference.half_width, sign=True)} better")


def test_the_transfer_track_is_compared_beside_the_headline_where_the_entries_have_it(
    page: Page, base_url, service_settings, factory_for
):
    transfer_scores = {"ours": {1: 0.50, 2: 0.52, 3: 0.51}, "generalized_ce": {1: 0.70, 2: 0.71, 3: 0.70}}
    ids = _seed(service_settings, factory_for, transfer_scores)
    page.goto(f"{base_url}/compare?ids={ids['ours']},{ids['generalized_ce']}")
    rows = page.locator("#scores tbody tr")
    expect(rows.locator("th")).to_have_text(["headline", *SMOKE_BENCHMARKS, "transfer", *SMOKE_TRANSFER_BENCHMARKS])
    expected = estimate(list(transfer_scores["ours"].values()))
    transfer = page.locator('#scores tbody tr[data-scope="transfer"] td').first
    expect(transfer).to_have_text(f"{_plus_minus(expected.mean, expected.half_width)} n=3")
    difference = paired_difference(transfer_scores["ours"], transfer_scores["generalized_ce"])
    cell = page.locator('#differences tbody tr td[data-scope="transfer"]')
    expect(cell).to_have_text(f"{_plus_minus(difference.mean, difference.half_width, sign=True)} worse")


def test_four_entries_give_every_pair_and_a_difference_within_the_noise_is_not_marked(page: Page, base_url, seeded):
    page.goto(f"{base_url}/compare?ids={seeded['ours']},{seeded['close']},{seeded['generalized_ce']}")
    pairs = page.locator("#differences tbody tr")
    expect(pairs.locator("th")).to_have_text(["ours − close", "ours − generalized_ce", "close − generalized_ce"])
    close = pairs.first.locator('td[data-scope="headline"]')
    expect(close.locator(".difference")).to_be_visible()
    expect(close.locator(".verdict")).to_have_count(0)


def test_the_curves_of_the_entries_are_overlaid_one_chart_per_benchmark(page: Page, base_url, seeded):
    page.goto(f"{base_url}/compare?ids={seeded['ours']},{seeded['generalized_ce']}")
    charts = page.locator("#compare-curves canvas")
    expect(charts).to_have_count(len(SMOKE_BENCHMARKS))
    expect(charts.first).to_have_attribute(
        "aria-label",
        f"{SMOKE_BENCHMARKS[0]}, after the last epoch: ours: test_acc 0.810, poison_fit 0.190; "
        "generalized_ce: test_acc 0.603, poison_fit 0.397",  # the means of 0.60, 0.61, 0.60 and their complements
    )
    # poison_fit has an axis of its own, scaled to its data, not test_acc's 0-1 axis.
    axes = page.evaluate("Object.keys(Chart.getChart(document.querySelector('#compare-curves canvas')).scales)")
    assert set(axes) == {"x", "y", "y1"}


def test_an_address_with_one_entry_says_how_to_compare(page: Page, base_url, seeded):
    response = page.goto(f"{base_url}/compare?ids={seeded['ours']}")
    assert response.status == 400
    expect(page.get_by_role("alert")).to_contain_text("compare two to four different entries")


def test_an_entry_not_on_the_board_is_named_in_the_error(page: Page, base_url, seeded):
    page.goto(f"{base_url}/compare?ids={seeded['ours']},9999")
    expect(page.get_by_role("alert")).to_contain_text("not on the smoke leaderboard: 9999")
    expect(page.locator("#scores-section")).to_be_hidden()


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}])
def test_the_compare_page_never_scrolls_sideways(open_page, base_url, seeded, viewport):
    page = open_page(viewport=viewport)
    page.goto(f"{base_url}/compare?ids={seeded['ours']},{seeded['close']},{seeded['generalized_ce']}")
    expect(page.locator("#compare-curves canvas")).to_have_count(len(SMOKE_BENCHMARKS))
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


@pytest.mark.parametrize(
    ("ids", "says"),
    [
        ("1", "compare two to four different entries"),
        ("1,2,3,4,5", "compare two to four different entries"),
        ("1,1", "compare two to four different entries"),
        ("1,x", "whole numbers from 1"),
        ("1,99999999999", "whole numbers from 1"),
    ],
)
def test_the_compare_api_refuses_a_bad_list_of_ids_saying_what_to_fix(page: Page, base_url, ids, says):
    response = page.request.get(f"{base_url}/api/compare?ids={ids}")
    assert response.status == 422
    assert says in response.json()["detail"]


def test_the_legend_names_each_entry_and_says_which_lines_are_dashed_and_only_the_last_epoch_has_a_marker(
    page: Page, base_url, seeded
):
    page.goto(f"{base_url}/compare?ids={seeded['ours']},{seeded['close']},{seeded['generalized_ce']}")
    canvas = page.locator("#compare-curves canvas").first
    expect(canvas).to_be_visible()
    drawn = canvas.evaluate(
        """(canvas) => {
          const chart = Chart.getChart(canvas);
          return {
            legend: chart.legend.legendItems.map((item) => item.text),
            radii: chart.data.datasets.map((_, i) => chart.getDatasetMeta(i).data.map((point) => point.options.radius)),
          };
        }"""
    )
    # one item per entry, then one per line style: not one long item per line
    assert drawn["legend"] == ["ours", "close", "generalized_ce", "test_acc ↑ (solid)", "poison_fit ↓ (dashed)"]
    assert drawn["radii"] == [[0, 3]] * 6  # three entries' two lines, two epochs each: the last one marked


def test_the_compare_and_submission_pages_draw_their_curves_with_one_chart_module(page: Page, base_url, seeded):
    scripts = "[...document.scripts].map((script) => new URL(script.src).pathname)"
    page.goto(f"{base_url}/compare?ids={seeded['ours']},{seeded['generalized_ce']}")
    expect(page.locator("#compare-curves canvas").first).to_be_visible()
    on_compare = page.evaluate(scripts)
    page.goto(f"{base_url}/submissions/{seeded['ours']}")
    expect(page.locator("#curves canvas").first).to_be_visible()
    on_submission = page.evaluate(scripts)
    assert "/static/js/curves.js" in on_compare and "/static/js/curves.js" in on_submission
    assert page.evaluate("typeof epochCurves.draw") == "function"
