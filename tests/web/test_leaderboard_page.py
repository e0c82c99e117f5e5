"""The leaderboard page in a browser: means ± intervals with n, rank intervals, provisional entries, kinds, the
legend, a row's details, sorting, comparing, and a table that fits a 1,280 px screen and a phone."""

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from db import queries
from db.models import FailureCause, Submission, SubmissionKind
from db.session import session_scope
from harness.registry import Suite, benchmark_names, transfer_benchmark_names
from scoring.statistics import estimate

pytestmark = pytest.mark.slow

SMOKE_BENCHMARKS = benchmark_names(Suite.SMOKE)
SMOKE_TRIALS = 2  # settings.trials_smoke's default, which the test service keeps
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# robust_score per trial (the same on every benchmark, so it is also the headline); the factory's results give
# test_acc = score and poison_fit = 1 - score.
SCORES = {
    "truncated_gce_ce": (SubmissionKind.PUBLISHED, {1: 0.80, 2: 0.82}),
    "inverse_flip_correction": (SubmissionKind.PUBLISHED, {1: 0.79, 2: 0.82}),  # within the noise of the first
    "generalized_ce": (SubmissionKind.BASELINE, {1: 0.60, 2: 0.61}),  # about 0.2 below both on every trial
    "ada's loss": (SubmissionKind.SUBMISSION, {1: 0.90}),  # its trial 2 still queued: provisional
}
DESCRIPTION = "Generalized CE with q = 0.6,\nsee the paper."
LINK = "https://example.org/paper"


def _complete(session: Session, factory, submission: Submission, scores: dict[int, float]) -> None:
    for run in submission.runs:
        if run.trial in scores:
            claimed = queries.runs.claim_run(session, run.id, "test-worker")
            queries.runs.complete_run(session, run.id, claimed.attempt, factory.result(scores[run.trial]), "")
    session.expire(submission)


def _seed_leaderboard(session: Session, factory) -> dict[str, int]:
    """The four entries of SCORES, and one submission with a run 1 epoch into 2; returns their ids by name."""
    ids = {}
    for name, (kind, scores) in SCORES.items():
        # truncated_gce_ce alone was trained on the transfer track too (its runs score as the announced ones)
        submission = factory.submission(kind=kind, trials=SMOKE_TRIALS, transfer=name == "truncated_gce_ce")
        submission.name = name
        _complete(session, factory, submission, scores)
        ids[name] = submission.id
    described = session.get(Submission, ids["ada's loss"])
    described.description, described.link = DESCRIPTION, LINK
    session.get(Submission, ids["generalized_ce"]).link = "javascript:alert(1)"  # stored by an old API: not shown
    for run in session.get(Submission, ids["generalized_ce"]).runs:  # as a new service installs the shipped ones
        run.recorded = True
    running = factory.submission(participant=factory.participant("grace")[0])
    running.name = "still training"
    first_run = running.runs[0]
    claimed = queries.runs.claim_run(session, first_run.id, "test-worker")
    queries.runs.record_progress(session, first_run.id, claimed.attempt, [{"epoch": 0}], epochs_total=2)
    session.commit()
    return ids


@pytest.fixture
def seeded(service_settings, factory_for) -> dict[str, int]:
    with session_scope(service_settings.sqlalchemy_url) as session:
        return _seed_leaderboard(session, factory_for(session))


@pytest.fixture
def leaderboard(page: Page, base_url: str, seeded) -> Page:
    page.goto(f"{base_url}/?suite=smoke")
    return page


def _open_legend(page: Page) -> None:
    """The legend is one click away: folded, so that the board is the first screen."""
    page.locator("#legend summary").click()
    expect(page.locator("#legend")).to_have_attribute("open", "")


def _row(page: Page, name: str):
    return page.locator("#leaderboard tbody.entry").filter(has=page.get_by_role("link", name=name, exact=True))


def _names(page: Page) -> list[str]:
    return page.locator("#leaderboard tbody.entry .pick-name a").all_inner_texts()


def _plus_minus(scores: dict[int, float]) -> str:
    """The interval as the page must show it, from the statistics module (tested on its own in tests/db)."""
    expected = estimate(list(scores.values()))
    if expected.half_width is None:
        return f"{expected.mean:.3f}"
    return f"{expected.mean:.3f} ± {expected.half_width:.3f}"


def test_each_entry_shows_its_headline_mean_with_interval_and_n_and_each_benchmarks_robust_score(leaderboard: Page):
    for name, (_, scores) in SCORES.items():
        row = _row(leaderboard, name)
        headline = row.locator("td.headline")
        expect(headline).to_contain_text(_plus_minus(scores))
        expect(headline.locator(".trial-count")).to_have_text(f"n={len(scores)}")
        expect(row.locator("td.benchmark-score")).to_have_count(len(SMOKE_BENCHMARKS))
        for cell in row.locator("td.benchmark-score").all():
            expect(cell).to_contain_text(_plus_minus(scores))
    assert _plus_minus(SCORES["truncated_gce_ce"][1]).startswith("0.810 ± ")  # the figure really has an interval


def test_each_ranked_entry_shows_the_places_it_could_hold_and_the_provisional_one_none(leaderboard: Page):
    ranks = {name: _row(leaderboard, name).locator("td.rank .rank-number") for name in SCORES}
    # Both published methods are within each other's noise and about 0.2 above generalized_ce on both trials:
    # truncated_gce_ce - generalized_ce = [0.20, 0.21] (p 0.016), inverse_flip_correction - generalized_ce =
    # [0.19, 0.21] (p 0.032). In generalized_ce's family of two, Holm rejects both (0.016 <= 0.025, 0.032 <= 0.05):
    # it is third. In each published method's family of two, the other published method's p is large, so only
    # p <= 0.025 rejects: truncated_gce_ce is shown above generalized_ce (1-2), inverse_flip_correction is not
    # (1-3). ada's loss, with one trial of two, has no rank and is listed last.
    expect(ranks["truncated_gce_ce"]).to_have_text("1–2")
    expect(ranks["inverse_flip_correction"]).to_have_text("1–3")
    expect(ranks["generalized_ce"]).to_have_text("3")
    expect(ranks["generalized_ce"]).to_have_attribute("title", re.compile("place 3 of 3 ranked entries"))
    expect(ranks["ada's loss"]).to_have_count(0)
    # listed by mean among the ranked entries, the provisional one after them although its mean is the highest
    assert _names(leaderboard) == ["truncated_gce_ce", "inverse_flip_correction", "generalized_ce", "ada's loss"]


def test_an_entry_with_fewer_trials_than_the_suite_is_marked_provisional_with_its_n(leaderboard: Page):
    mark = _row(leaderboard, "ada's loss").locator("td.rank .provisional")
    expect(mark).to_have_text(f"provisional n=1/{SMOKE_TRIALS}")
    for name in ("truncated_gce_ce", "inverse_flip_correction", "generalized_ce"):
        expect(_row(leaderboard, name).locator(".provisional")).to_have_count(0)
    for cell in _row(leaderboard, "ada's loss").locator("td.benchmark-score").all():
        expect(cell.locator(".trial-count")).to_have_text("n=1")  # fewer than planned: said in every cell


def test_kinds_are_marked_by_distinct_badges_and_published_links_to_what_the_methods_are(leaderboard: Page):
    badges = {name: _row(leaderboard, name).locator(".kind") for name in SCORES}
    for name, (kind, _) in SCORES.items():
        expect(badges[name]).to_have_text(kind.value)
        expect(badges[name]).to_have_class(f"kind kind-{kind.value}")
    colours = {
        badges[name].evaluate("(mark) => getComputedStyle(mark).backgroundColor")
        for name in ("truncated_gce_ce", "generalized_ce", "ada's loss")
    }
    assert len(colours) == 3  # baseline, published and submission look different, not only read so
    expect(badges["truncated_gce_ce"]).to_have_attribute("href", "/about/published-methods")
    expect(badges["generalized_ce"]).not_to_have_attribute("href", "/about/published-methods")


def test_recorded_results_are_marked_and_the_mark_links_to_what_they_are(leaderboard: Page):
    marks = {name: _row(leaderboard, name).locator(".recorded-mark") for name in SCORES}
    expect(marks["generalized_ce"]).to_have_text("recorded")
    for name in ("truncated_gce_ce", "inverse_flip_correction", "ada's loss"):
        expect(marks[name]).to_have_count(0)
    marks["generalized_ce"].click()
    expect(leaderboard.locator("h1")).to_have_text("Recorded results")


def test_the_transfer_score_stands_beside_the_headline_with_its_own_rank_or_a_dash_until_it_has_a_trial(
    leaderboard: Page,
):
    cells = {name: _row(leaderboard, name).locator("td.transfer") for name in SCORES}
    expect(cells["truncated_gce_ce"]).to_contain_text(_plus_minus({1: 0.80, 2: 0.82}))
    expect(cells["truncated_gce_ce"].locator(".transfer-rank")).to_have_text("rank 1")
    for name in ("inverse_flip_correction", "generalized_ce", "ada's loss"):
        expect(cells[name]).to_have_text("—")
    headers = leaderboard.locator("#leaderboard thead th").all_inner_texts()
    assert [text.split()[0] for text in headers[2:4]] == ["Headline", "Transfer"]  # beside it, not in it
    expect(leaderboard.locator("#transfer-note a")).to_have_attribute("href", "/about/transfer")


def test_the_legend_explains_the_suite_and_reads_each_metrics_description_from_the_api(leaderboard: Page, base_url):
    _open_legend(leaderboard)
    metrics = leaderboard.request.get(f"{base_url}/api/leaderboard?suite=smoke").json()["metrics"]
    assert {metric["name"] for metric in metrics} >= {"test_acc", "poison_fit", "clean_fit", "robust_score"}
    legend = leaderboard.locator("#metric-legend")
    assert legend.locator("dt code").all_inner_texts() == [metric["name"] for metric in metrics]
    assert legend.locator("dd").all_inner_texts() == [metric["description"] for metric in metrics]
    expect(leaderboard.locator("#suite-note")).to_contain_text("measure nothing")  # smoke
    expect(leaderboard.locator("#rank-note")).to_contain_text("the range of places an entry could hold")
    expect(leaderboard.locator("#rank-note a")).to_have_attribute("href", "/about/statistics")
    expect(leaderboard.get_by_role("link", name="how the intervals and ranks are computed")).to_be_visible()


def test_the_proxy_suite_says_it_is_digits_and_not_comparable_with_official_numbers(page: Page, base_url, seeded):
    page.goto(f"{base_url}/?suite=proxy")
    expect(page.locator("#suite-note")).to_contain_text("8×8 handwritten digits")
    expect(page.locator("#suite-note")).to_contain_text("not comparable with the official suite")


def test_the_statistics_page_the_rank_sentence_links_to_is_served(leaderboard: Page):
    _open_legend(leaderboard)
    leaderboard.locator("#rank-note a").click()
    expect(leaderboard.locator("h1")).to_contain_text("Statistics")
    expect(leaderboard.locator("article.document table").first).to_be_visible()  # the power table


def test_only_the_documents_the_board_links_to_are_served(page: Page, base_url):
    assert page.request.get(f"{base_url}/about/statistics").status == 200
    for elsewhere in ("security", "..%2FREADME", "statistics.md"):  # docs/security.md exists: not linked, not served
        assert page.request.get(f"{base_url}/about/{elsewhere}").status == 404


def test_a_row_opens_from_the_keyboard_to_every_metric_its_description_link_and_submission_page(
    leaderboard: Page, seeded
):
    row = _row(leaderboard, "ada's loss")
    toggle = row.locator(".row-toggle")
    details = row.locator("tr.details-row")
    expect(details).to_be_hidden()
    toggle.focus()
    leaderboard.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(details).to_be_visible()
    # every metric the API names, poison_fit_noaug included, in the result schema's order
    metrics = leaderboard.request.get(leaderboard.url.replace("/?", "/api/leaderboard?")).json()["metrics"]
    headers = details.locator("thead th").all_inner_texts()
    assert headers == ["Benchmark", *(metric["name"] for metric in metrics), "n"]
    assert "poison_fit_noaug" in headers
    first_benchmark = details.locator("tbody tr").nth(1)
    assert first_benchmark.locator("td").all_inner_texts() == ["0.900", "0.100", "0.100", "1.000", "0.900", "1"]
    expect(details.locator(".entry-description")).to_have_text(DESCRIPTION)
    link = details.locator(".entry-link a")
    expect(link).to_have_attribute("href", LINK)
    expect(link).to_have_attribute("rel", "nofollow noopener")
    page_link = details.get_by_role("link", name="Runs, curves and paired comparisons of ada's loss")
    expect(page_link).to_have_attribute("href", "/submissions/{}".format(seeded["ada's loss"]))
    leaderboard.keyboard.press("Space")
    expect(details).to_be_hidden()


def test_a_rows_details_show_the_transfer_score_and_each_hidden_flip_benchmark_where_it_has_them(leaderboard: Page):
    trained = _row(leaderboard, "truncated_gce_ce")
    trained.locator(".row-toggle").click()
    transfer_rows = trained.locator("tr.details-row tr.transfer-detail")
    expect(transfer_rows.locator("th")).to_have_text(["transfer", *transfer_benchmark_names(Suite.SMOKE)])
    expect(transfer_rows.first).to_contain_text(_plus_minus({1: 0.80, 2: 0.82}))
    announced_only = _row(leaderboard, "generalized_ce")
    announced_only.locator(".row-toggle").click()
    expect(announced_only.locator("tr.details-row")).to_be_visible()
    expect(announced_only.locator("tr.details-row tr.transfer-detail")).to_have_count(0)


def test_a_link_that_is_not_http_is_never_made_clickable(leaderboard: Page):
    row = _row(leaderboard, "generalized_ce")
    row.locator(".row-toggle").click()
    expect(row.locator(".entry-link")).to_have_count(0)
    assert "javascript:alert" not in leaderboard.content()


def test_a_click_on_a_header_sorts_best_first_and_a_second_click_reverses(leaderboard: Page):
    header = leaderboard.locator("th.headline-col")
    header.get_by_role("button").click()
    expect(header).to_have_attribute("aria-sort", "descending")  # ↑: the highest headline first
    assert _names(leaderboard) == ["ada's loss", "truncated_gce_ce", "inverse_flip_correction", "generalized_ce"]
    header.get_by_role("button").click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    assert _names(leaderboard) == ["generalized_ce", "inverse_flip_correction", "truncated_gce_ce", "ada's loss"]
    expect(leaderboard.locator("th.rank-col")).not_to_have_attribute("aria-sort", "ascending")
    # A sorted entry keeps its details beside it: each <tbody> is one entry.
    last = leaderboard.locator("#leaderboard tbody.entry").last
    expect(last.locator("tr.details-row .metric-details caption")).to_contain_text("ada's loss")


def test_ticking_two_entries_and_pressing_compare_opens_the_compare_page(leaderboard: Page, seeded):
    _row(leaderboard, "truncated_gce_ce").locator(".compare-pick").check()
    leaderboard.get_by_role("button", name="Compare the selected entries").click()
    expect(leaderboard.locator("#compare-hint")).to_contain_text("(1 ticked)")  # one is not a comparison
    _row(leaderboard, "generalized_ce").locator(".compare-pick").check()
    leaderboard.get_by_role("button", name="Compare the selected entries").click()
    leaderboard.wait_for_url(f"**/compare?ids={seeded['truncated_gce_ce']},{seeded['generalized_ce']}")


def test_submissions_in_progress_are_listed_apart_with_epochs_done_of_total_per_trial(leaderboard: Page):
    assert "still training" not in _names(leaderboard)
    row = leaderboard.locator("#in-progress tbody tr").filter(has_text="still training")
    expect(row.locator(".status")).to_have_text("running")
    progress = row.locator(".run-progress li").all_inner_texts()
    assert progress[0] == f"{SMOKE_BENCHMARKS[0]} (trial 1): 1 of 2"
    assert progress[1:] == [f"{benchmark} (trial 1): 0 of 2" for benchmark in SMOKE_BENCHMARKS[1:]]


def test_an_entry_being_rerun_stays_on_the_board_marked_and_a_failed_rerun_says_its_old_results_are_shown(
    page: Page, base_url, service_settings, factory_for
):
    with session_scope(service_settings.sqlalchemy_url) as session:
        factory = factory_for(session)
        for name in ("generalized_ce", "symmetric_ce"):
            baseline = factory.submission(kind=SubmissionKind.BASELINE, trials=SMOKE_TRIALS)
            baseline.name = name
            _complete(session, factory, baseline, {1: 0.60, 2: 0.61})
            queries.submissions.rerun_submission(session, baseline, factory.plan(SMOKE_TRIALS))
        session.expire(baseline)
        replacement = baseline.replacement_runs[0]
        attempt = queries.runs.claim_run(session, replacement.id, "test-worker").attempt
        queries.runs.fail_run(session, replacement.id, attempt, "worker lost", FailureCause.LOSS, "", "x")
    page.goto(f"{base_url}/?suite=smoke")
    expect(_row(page, "generalized_ce").locator(".rerun-mark")).to_have_text("re-running")
    expect(_row(page, "generalized_ce").locator("td.headline")).to_contain_text(_plus_minus({1: 0.60, 2: 0.61}))
    expect(_row(page, "symmetric_ce").locator(".rerun-mark.rerun-failed")).to_have_text(
        "rerun failed: previous results shown"
    )
    expect(_row(page, "symmetric_ce").locator("td.headline")).to_contain_text(_plus_minus({1: 0.60, 2: 0.61}))


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280x800", "390x844"])
def test_the_page_never_scrolls_sideways_and_the_headline_and_rank_are_in_view(open_page, base_url, seeded, viewport):
    page = open_page(viewport=viewport)
    page.goto(f"{base_url}/?suite=smoke")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    box = page.locator("#leaderboard").locator("xpath=..")  # its .table-scroll: nothing hidden sideways either
    assert box.evaluate("(box) => box.scrollWidth <= box.clientWidth")
    first = page.locator("#leaderboard tbody.entry").first
    for cell in (page.locator("th.headline-col"), first.locator("td.headline"), first.locator("td.rank")):
        cell.scroll_into_view_if_needed()
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], box
    if viewport is PHONE:  # the lower-priority columns give way; they are in each row's details
        expect(first.locator("td.benchmark-score").first).to_be_hidden()
        expect(first.locator("td.average-rank")).to_be_hidden()
    else:
        expect(first.locator("td.benchmark-score").first).to_be_visible()
        expect(first.locator("td.average-rank")).to_be_visible()
    first.locator(".row-toggle").click()  # an open row's own table scrolls in its box, not the page
    expect(first.locator("tr.details-row")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


def test_the_legend_says_n_is_beside_every_headline_as_every_row_shows_it(leaderboard: Page):
    for name, (_, scores) in SCORES.items():
        expect(_row(leaderboard, name).locator("td.headline .trial-count")).to_have_text(f"n={len(scores)}")
    _open_legend(leaderboard)
    expect(leaderboard.locator("#rank-note")).to_contain_text("is shown beside every headline")
    expect(leaderboard.locator("#rank-note")).not_to_contain_text("is shown where an entry has fewer trials")


def test_at_1280_by_900_the_leaders_row_is_in_view_without_scrolling_and_the_legend_one_click_away(
    open_page, base_url, seeded
):
    page = open_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base_url}/?suite=smoke")
    leader = page.locator("#leaderboard tbody.entry").first
    expect(leader.locator(".pick-name a")).to_have_text("truncated_gce_ce")
    assert page.evaluate("window.scrollY") == 0
    box = leader.locator("tr.entry-row").bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 900, box
    expect(page.locator("#rank-note")).to_be_hidden()
    _open_legend(page)
    expect(page.locator("#rank-note")).to_be_visible()


# Where each line of an element's text ends, read from the rendered glyphs: the text up to each line break.
LINE_ENDS = """(element) => {
  const text = element.firstChild ? element.textContent : "";
  const range = document.createRange();
  const ends = [];
  let top = null;
  let offset = 0;
  for (const node of [...element.childNodes].filter((child) => child.nodeType === Node.TEXT_NODE)) {
    for (let i = 0; i < node.length; i++) {
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      const rect = range.getBoundingClientRect();
      if (top !== null && rect.top > top + 1) ends.push(text.slice(0, offset + i));
      top = rect.top;
    }
    offset += node.length;
  }
  return ends;
}"""


def test_on_a_phone_a_methods_name_breaks_after_an_underscore_never_mid_word(open_page, base_url, seeded):
    page = open_page(viewport=PHONE)
    page.goto(f"{base_url}/?suite=smoke")
    name = _row(page, "inverse_flip_correction").locator(".pick-name a")
    ends = name.evaluate(LINE_ENDS)
    assert ends, "the name fits one line: the test would show nothing"
    assert all(end.endswith("_") for end in ends), ends


def test_on_a_phone_the_in_progress_table_keeps_status_and_progress_in_view(open_page, base_url, seeded):
    page = open_page(viewport=PHONE)
    page.goto(f"{base_url}/?suite=smoke")
    table = page.locator("#in-progress")
    assert table.locator("xpath=..").evaluate("(box) => box.scrollWidth <= box.clientWidth")  # nothing cut off
    row = table.locator("tbody tr").filter(has_text="still training")
    for cell in (table.locator("thead th", has_text="Status"), row.locator(".status"), row.locator(".run-progress")):
        cell.scroll_into_view_if_needed()
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    expect(row.locator(".method-meta")).to_contain_text("grace")  # the participant, under the name
