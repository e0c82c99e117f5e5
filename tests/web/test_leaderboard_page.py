"""The leaderboard page in a browser: rows and values, Type marks, best values, sorting, in-progress runs."""

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from db import queries
from db.models import SubmissionKind
from db.session import session_scope
from harness.registry import Suite, benchmark_names

SMOKE_BENCHMARKS = benchmark_names(Suite.SMOKE)
# robust_score per service loss; the factory's results give test_acc = score and poison_fit = 1 - score.
SCORES = {"gce (baseline)": 0.55, "ours (reference)": 0.65, "ada's loss": 0.75}
KINDS = {
    "gce (baseline)": SubmissionKind.BASELINE,
    "ours (reference)": SubmissionKind.REFERENCE,
    "ada's loss": SubmissionKind.SUBMISSION,
}


def _seed_leaderboard(session: Session, factory) -> None:
    """Three finished submissions of each kind, and one with a run 1 epoch into 2."""
    for name, kind in KINDS.items():
        submission = factory.submission(kind=kind)
        submission.name = name
        factory.finish(submission, robust_score=SCORES[name])
    running = factory.submission(participant=factory.participant("grace")[0])
    running.name = "still training"
    first_run = running.runs[0]
    claimed = queries.runs.claim_run(session, first_run.id, "test-worker")
    queries.runs.record_progress(session, first_run.id, claimed.attempt, [{"epoch": 0}], epochs_total=2)


@pytest.fixture
def leaderboard(page: Page, base_url: str, service_settings, factory_for) -> Page:
    with session_scope(service_settings.sqlalchemy_url) as session:
        _seed_leaderboard(session, factory_for(session))
    page.goto(f"{base_url}/?suite=smoke")
    return page


def _column(page: Page, metric: str, benchmark: str | None = None) -> list[str]:
    """The text of one column, top to bottom, by the metric (and benchmark) its header names."""
    header = f'th[data-metric="{metric}"]' + (f'[data-benchmark="{benchmark}"]' if benchmark else "")
    index = page.locator("#leaderboard thead tr").last.locator("th").evaluate_all(
        "(cells, selector) => cells.findIndex((cell) => cell.matches(selector))", header
    )
    cells = page.locator(f"#leaderboard tbody tr > :nth-child({index + 1})")
    return [text.strip() for text in cells.all_text_contents()]  # with what only a screen reader shows


def _names(page: Page) -> list[str]:
    return page.locator("#leaderboard tbody th[scope=row]").all_inner_texts()


def test_the_leaderboard_lists_every_finished_submission_ranked_with_its_type_and_metrics(leaderboard: Page):
    assert _names(leaderboard) == ["ada's loss", "ours (reference)", "gce (baseline)"]
    kinds = leaderboard.locator("#leaderboard tbody .kind")
    assert kinds.all_inner_texts() == ["submission", "reference", "baseline"]
    assert kinds.evaluate_all("(marks) => marks.map((mark) => mark.className)") == [
        "kind kind-submission",
        "kind kind-reference",
        "kind kind-baseline",
    ]
    colours = kinds.evaluate_all("(marks) => marks.map((mark) => getComputedStyle(mark).backgroundColor)")
    assert len(set(colours)) == 3  # baseline, reference and submission look different, not only read so
    for benchmark in SMOKE_BENCHMARKS:
        assert _column(leaderboard, "test_acc", benchmark) == ["0.750 (best)", "0.650", "0.550"]
        assert _column(leaderboard, "poison_fit", benchmark) == ["0.250 (best)", "0.350", "0.450"]
        assert _column(leaderboard, "robust_score", benchmark) == ["0.750 (best)", "0.650", "0.550"]
    assert _column(leaderboard, "mean_robust_score") == ["0.750 (best)", "0.650", "0.550"]
    expect(leaderboard.locator(".suite-switcher a[aria-current=page]")).to_contain_text("smoke")
    link = leaderboard.get_by_role("link", name="ada's loss")
    expect(link).to_have_attribute("href", "/submissions/3")


def test_the_best_value_of_each_column_is_highlighted_highest_or_lowest_by_its_arrow(leaderboard: Page):
    best = leaderboard.locator("#leaderboard td.best")
    columns = 3 * len(SMOKE_BENCHMARKS) + 1
    assert best.count() == columns  # one per column: no tie in these results
    # The top row has the highest test_acc and robust_score and the lowest poison_fit: every best is there.
    assert leaderboard.locator("#leaderboard tbody tr").first.locator("td.best").count() == columns
    poison_fit_best = leaderboard.locator('#leaderboard td.best[data-metric="poison_fit"]').all_text_contents()
    assert poison_fit_best == ["0.250 (best)"] * len(SMOKE_BENCHMARKS)


def test_submissions_in_progress_are_listed_apart_with_epochs_done_of_total(leaderboard: Page):
    assert "still training" not in _names(leaderboard)
    row = leaderboard.locator("#in-progress tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("th")).to_have_text("still training")
    expect(row.locator(".status")).to_have_text("running")
    progress = row.locator(".run-progress li").all_inner_texts()
    assert progress[0] == f"{SMOKE_BENCHMARKS[0]} (seed 42): 1 of 2"
    assert progress[1:] == [f"{benchmark} (seed 42): 0 of 2" for benchmark in SMOKE_BENCHMARKS[1:]]


def test_a_click_on_a_header_sorts_best_first_and_a_second_click_reverses(leaderboard: Page):
    benchmark = SMOKE_BENCHMARKS[0]
    header = leaderboard.locator(f'th[data-metric="poison_fit"][data-benchmark="{benchmark}"]')
    header.get_by_role("button").click()
    expect(header).to_have_attribute("aria-sort", "ascending")  # ↓: the lowest poison_fit first
    assert _column(leaderboard, "poison_fit", benchmark) == ["0.250 (best)", "0.350", "0.450"]
    header.get_by_role("button").click()
    expect(header).to_have_attribute("aria-sort", "descending")
    assert _names(leaderboard) == ["gce (baseline)", "ours (reference)", "ada's loss"]
    rank = leaderboard.locator("#leaderboard thead th").filter(has_text="Rank")
    expect(rank).not_to_have_attribute("aria-sort", "ascending")  # only the sorted column says it is


def test_headers_sort_from_the_keyboard_with_enter_and_space(leaderboard: Page):
    type_header = leaderboard.locator("#leaderboard thead th").filter(has_text="Type")
    type_header.get_by_role("button").focus()
    leaderboard.keyboard.press("Enter")
    expect(type_header).to_have_attribute("aria-sort", "ascending")
    assert leaderboard.locator("#leaderboard tbody .kind").all_inner_texts() == [
        "baseline",
        "reference",
        "submission",
    ]
    leaderboard.keyboard.press("Tab")  # the next header: the mean robust_score ↑
    leaderboard.keyboard.press("Space")
    focused = leaderboard.evaluate("document.activeElement.closest('th').dataset.metric")
    assert focused == "mean_robust_score"
    assert _column(leaderboard, "mean_robust_score") == ["0.750 (best)", "0.650", "0.550"]  # highest first
    leaderboard.keyboard.press("Tab")  # then the first benchmark's test_acc ↑
    leaderboard.keyboard.press("Enter")
    assert leaderboard.evaluate("document.activeElement.closest('th').dataset.metric") == "test_acc"
    assert _names(leaderboard) == ["ada's loss", "ours (reference)", "gce (baseline)"]  # highest first


def test_on_a_phone_the_page_fits_the_screen_and_the_wide_table_scrolls_inside_its_box(
    open_page, base_url, service_settings, factory_for
):
    with session_scope(service_settings.sqlalchemy_url) as session:
        _seed_leaderboard(session, factory_for(session))
    phone = open_page(viewport={"width": 390, "height": 844})
    phone.goto(f"{base_url}/?suite=smoke")
    assert phone.evaluate("document.documentElement.scrollWidth") == 390
    box = phone.locator(".table-scroll").first
    assert box.evaluate("(box) => box.scrollWidth > box.clientWidth")  # the rest is a sideways scroll away
    box.evaluate("(box) => { box.scrollLeft = box.scrollWidth; }")
    expect(phone.locator("#leaderboard tbody tr").first.locator("td").last).to_be_in_viewport()
