"""A submission's page in a browser: public parts for anyone, live progress per benchmark and trial, curves, the
queue and its estimates while it waits or trains, and paired comparisons once it has results; code and errors for
its owner only."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update
from sqlalchemy.orm import Session

from db import queries
from db.models import FailureCause, Run, Submission, SubmissionKind, SubmissionStatus, utcnow
from db.session import session_scope
from harness.registry import Suite, benchmark_names
from scoring.statistics import paired_difference
from scoring.trials import planned_trials
from settings import PUBLISHED_SEED

pytestmark = pytest.mark.slow
ESTIMATE = re.compile(r"\((in about \d+ (min|h)|any minute now)\)$")  # "12:34:56 (in about 3 min)"

SMOKE_BENCHMARKS = benchmark_names(Suite.SMOKE)
SECRET_LINE = "# the secret sauce: nobody but its owner reads this"
CODE = f"class RobustLoss:\n    {SECRET_LINE}\n    def compute_loss(self, logits, labels, epoch):\n        return 0\n"
LOG_TAIL = "Traceback (most recent call last):\nValueError: the loss returned NaN at epoch 1"


def _curve(epochs: int) -> list[dict]:
    """Per-epoch records as the trainer writes them (harness.result.EpochRecord)."""
    return [
        {
            "epoch": epoch,
            "official_epoch": epoch * 50,
            "train_loss": 2.0 - epoch,
            "test_acc": 0.3 + 0.2 * epoch,
            "poison_fit": 0.4 - 0.1 * epoch,
            "train_seconds": 1.0 + epoch,
        }
        for epoch in range(epochs)
    ]


def _succeed(session: Session, factory, submission: Submission) -> None:
    for run in submission.runs:
        claimed = queries.runs.claim_run(session, run.id, "test-worker")
        queries.runs.record_progress(session, run.id, claimed.attempt, _curve(2), epochs_total=2)
        result = {**factory.result(robust_score=0.7), "curve": _curve(2)}
        queries.runs.complete_run(session, run.id, claimed.attempt, result, log_tail="")


@pytest.fixture
def seeded(service_settings, factory_for) -> dict:
    """ada's finished submission (1), her failed one (2), her hidden one (3), and grace's token."""
    with session_scope(service_settings.sqlalchemy_url) as session:
        factory = factory_for(session)
        ada, ada_token = factory.participant("ada")
        finished = factory.submission(participant=ada, code=CODE)
        finished.name = "truncated gce"
        _succeed(session, factory, finished)
        failed = factory.submission(participant=ada, code=CODE + "# 2\n")
        run = failed.runs[0]
        claimed = queries.runs.claim_run(session, run.id, "test-worker")
        queries.runs.fail_run(session, run.id, claimed.attempt, "the loss is NaN", FailureCause.LOSS, LOG_TAIL, "x")
        hidden = factory.submission(participant=ada, code=CODE + "# 3\n")
        queries.submissions.set_hidden(session, hidden, True)
        grace_token = factory.participant("grace")[1]
    return {"ada": ada_token, "grace": grace_token}


def test_anyone_sees_the_status_progress_metrics_and_curves_but_not_the_code(page: Page, base_url, seeded):
    page.goto(f"{base_url}/submissions/1")
    expect(page.locator("h1")).to_have_text("truncated gce")
    expect(page.locator("#participant")).to_have_text("ada")
    expect(page.locator("#status")).to_have_text("succeeded")
    rows = page.locator("#runs tbody tr")
    expect(rows).to_have_count(len(SMOKE_BENCHMARKS))
    # A 63-bit training seed, digit for digit: a JavaScript number would round it to 53 bits.
    seed = str(planned_trials(PUBLISHED_SEED, Suite.SMOKE, 1)[0].seeds.training_seed)
    assert len(seed) > 16
    for row, benchmark in zip(rows.all(), SMOKE_BENCHMARKS, strict=True):
        expect(row.locator("th")).to_have_text(benchmark, use_inner_text=True)  # the seed under it is a phone's
        expect(row.locator("td").first).to_have_text(seed)
        expect(row.locator(".progress-text")).to_have_text("epoch 2 of 2")
        assert row.locator("td.num").all_inner_texts() == ["0.700", "0.300", "0.700"]
    charts = page.locator("#curves canvas")
    expect(charts).to_have_count(len(SMOKE_BENCHMARKS))
    expect(charts.first).to_have_attribute(
        "aria-label", f"{SMOKE_BENCHMARKS[0]}: after epoch 2, test_acc 0.500, poison_fit 0.300"
    )
    expect(page.locator("#code-section")).to_be_hidden()
    assert SECRET_LINE not in page.content()


def test_the_owner_sees_the_code_highlighted_and_the_error_and_log_tail_of_a_failed_run(open_page, base_url, seeded):
    page = open_page(token=seeded["ada"])
    page.goto(f"{base_url}/submissions/2")
    expect(page.locator("#status")).to_have_text("failed")
    expect(page.locator("#errors .error-message")).to_have_text("the loss is NaN")
    expect(page.locator("#errors .log-tail")).to_have_text(LOG_TAIL)
    expect(page.locator("#code")).to_contain_text(SECRET_LINE)
    expect(page.locator("#code .hljs-keyword").first).to_have_text("class")


def test_another_participant_sees_neither_the_code_nor_the_error_log(open_page, base_url, seeded):
    page = open_page(token=seeded["grace"])
    page.goto(f"{base_url}/submissions/2")
    expect(page.locator("#status")).to_have_text("failed")
    expect(page.locator("#runs tbody tr").first.locator(".status")).to_have_text("failed")
    page.wait_for_load_state("networkidle")  # the owner-only requests have been answered (404)
    expect(page.locator("#error-section")).to_be_hidden()
    expect(page.locator("#code-section")).to_be_hidden()
    assert SECRET_LINE not in page.content() and "NaN" not in page.content()


def test_a_hidden_submission_is_a_404_to_visitors_and_shown_to_its_owner(page: Page, open_page, base_url, seeded):
    response = page.goto(f"{base_url}/submissions/3")
    assert response.status == 404
    expect(page.locator("#not-found")).to_be_visible()
    expect(page.locator("#facts")).to_be_hidden()
    owner = open_page(token=seeded["ada"])
    owner.goto(f"{base_url}/submissions/3")
    expect(owner.locator("#participant")).to_have_text("ada")
    expect(owner.locator("#not-found")).to_be_hidden()


def test_progress_updates_without_a_reload_while_a_run_trains(page: Page, base_url, service_settings, factory_for):
    with session_scope(service_settings.sqlalchemy_url) as session:
        run = factory_for(session).submission().runs[0]
        attempt = queries.runs.claim_run(session, run.id, "test-worker").attempt
        queries.runs.record_progress(session, run.id, attempt, _curve(1), epochs_total=2)
    page.goto(f"{base_url}/submissions/1")
    first_run = page.locator("#runs tbody tr").first
    expect(first_run.locator(".progress-text")).to_have_text("epoch 1 of 2")
    expect(page.locator("#status")).to_have_text("running")
    with session_scope(service_settings.sqlalchemy_url) as session:
        queries.runs.record_progress(session, run.id, attempt, _curve(2), epochs_total=2)
    page.evaluate("window.reloaded = false")  # a reload would drop this flag
    expect(first_run.locator(".progress-text")).to_have_text("epoch 2 of 2", timeout=10_000)
    assert page.evaluate("window.reloaded") is False
    expect(page.locator("#curves canvas")).to_have_count(1)


def test_a_curl_submitter_pastes_their_token_and_sees_their_code_with_the_token_kept_out_of_the_url(
    page: Page, base_url, seeded
):
    page.goto(f"{base_url}/submissions/1")
    expect(page.locator("#code-section")).to_be_hidden()
    page.locator("#owner-token").fill(seeded["ada"])
    page.locator("#token-form button").click()
    expect(page.locator("#code")).to_contain_text(SECRET_LINE)
    expect(page.locator("#token-form")).to_be_hidden()
    assert page.url == f"{base_url}/submissions/1"
    assert page.evaluate("sessionStorage.getItem('poisonbench-token')") == seeded["ada"]
    page.reload()  # the tab keeps it, as after an upload from the submit page
    expect(page.locator("#code")).to_contain_text(SECRET_LINE)


def test_a_wrong_token_or_another_participants_is_refused_with_a_clear_message_and_not_kept(
    page: Page, base_url, seeded
):
    page.goto(f"{base_url}/submissions/1")
    error = page.locator("#owner-token-error")
    page.locator("#owner-token").fill("pb_not-a-token")
    page.locator("#token-form button").click()
    expect(error).to_have_text("This token is not valid: check that you pasted all of it (pb_…).")
    page.locator("#owner-token").fill(seeded["grace"])
    page.locator("#token-form button").click()
    expect(error).to_have_text("This token is valid, but submission 1 is not yours.")
    assert page.evaluate("sessionStorage.getItem('poisonbench-token')") is None
    expect(page.locator("#code-section")).to_be_hidden()


def test_the_owner_cancels_a_queued_submission_from_its_page_and_nobody_else_sees_the_button(
    open_page, base_url, seeded, service_settings, factory_for
):
    with session_scope(service_settings.sqlalchemy_url) as session:
        ada = queries.participants.participant_by_name(session, "ada")
        queued = factory_for(session).submission(participant=ada).id
    stranger = open_page(token=seeded["grace"])
    stranger.goto(f"{base_url}/submissions/{queued}")
    expect(stranger.locator("#status")).to_have_text("queued")
    expect(stranger.locator("#cancel-form")).to_be_hidden()
    expect(stranger.locator("#token-form")).to_be_visible()
    owner = open_page(token=seeded["ada"])
    owner.goto(f"{base_url}/submissions/{queued}")
    owner.on("dialog", lambda dialog: dialog.accept())  # "Cancel submission N?"
    owner.locator("#cancel-button").click()
    expect(owner.locator("#status")).to_have_text("cancelled")
    expect(owner.locator("#runs tbody tr .status").first).to_have_text("cancelled", timeout=10_000)
    expect(owner.locator("#cancel-form")).to_be_hidden()
    with session_scope(service_settings.sqlalchemy_url) as session:
        assert queries.submissions.get_submission(session, queued).status is SubmissionStatus.CANCELLED


def test_poison_fit_is_drawn_on_an_axis_of_its_own_scaled_to_its_values(page: Page, base_url, seeded):
    page.goto(f"{base_url}/submissions/1")
    expect(page.locator("#curves canvas")).to_have_count(len(SMOKE_BENCHMARKS))
    axes = page.evaluate(
        """() => {
          const chart = Chart.getChart(document.querySelector('#curves canvas'));
          const poisonFit = chart.data.datasets.find((d) => d.label.startsWith('poison_fit'));
          return { axis: poisonFit.yAxisID, max: chart.scales[poisonFit.yAxisID].max, testAccMax: chart.scales.y.max };
        }"""
    )
    # The curve's poison_fit is 0.4 then 0.3: on the 0-1 test_acc axis it would use 40% of the height.
    assert axes["axis"] != "y" and axes["max"] <= 0.5 and axes["testAccMax"] == 1


def test_the_services_own_baselines_ask_nobody_for_a_token(page: Page, base_url, service_settings, factory_for):
    with session_scope(service_settings.sqlalchemy_url) as session:
        baseline = factory_for(session).submission(kind=SubmissionKind.BASELINE).id
    page.goto(f"{base_url}/submissions/{baseline}")
    expect(page.locator("#kind")).to_have_text("baseline")
    expect(page.locator("#token-form")).to_be_hidden()


def test_a_queued_submission_shows_its_position_start_and_finish_and_a_running_one_its_finish(
    page: Page, base_url, service_settings, factory_for
):
    with session_scope(service_settings.sqlalchemy_url) as session:
        factory = factory_for(session)
        timed = factory.submission(transfer=True)  # every benchmark of the suite trained here once, in 60 s
        factory.finish(timed)
        began = utcnow() - timedelta(seconds=60)
        session.execute(update(Run).where(Run.submission_id == timed.id).values(started_at=began))
        factory.submission(kind=SubmissionKind.BASELINE)  # queued first, claimed after participants' runs
        waiting = factory.submission()
        waiting_id, first_run_id = waiting.id, waiting.runs[0].id
    page.goto(f"{base_url}/submissions/{waiting_id}")
    expect(page.locator("#status")).to_have_text("queued")
    public = page.request.get(f"{base_url}/api/submissions/{waiting_id}/public").json()
    assert public["queue_position"] >= 1
    assert public["estimated_start"] is not None and public["estimated_finish"] is not None
    expect(page.locator("#queue-section")).to_be_visible()
    expect(page.locator("#queue-position")).to_contain_text(f"{public['queue_position']} (")
    expect(page.locator("#estimated-start")).to_have_text(ESTIMATE)
    expect(page.locator("#estimated-finish")).to_have_text(ESTIMATE)
    with session_scope(service_settings.sqlalchemy_url) as session:
        queries.runs.claim_run(session, first_run_id, "test-worker")
    expect(page.locator("#status")).to_have_text("running", timeout=10_000)  # polled, no reload
    expect(page.locator("#queue-heading")).to_have_text("Training")
    expect(page.locator("#queue-position")).to_be_hidden()
    expect(page.locator("#estimated-start")).to_be_hidden()
    expect(page.locator("#estimated-finish")).to_have_text(ESTIMATE)


def test_a_submission_waiting_for_a_benchmark_never_trained_here_says_its_estimates_are_not_known(
    page: Page, base_url, service_settings, factory_for
):
    with session_scope(service_settings.sqlalchemy_url) as session:
        waiting_id = factory_for(session).submission().id
    page.goto(f"{base_url}/submissions/{waiting_id}")
    expect(page.locator("#estimated-start")).to_contain_text("not known yet")
    expect(page.locator("#estimated-finish")).to_contain_text("not known yet")


def test_progress_is_shown_per_benchmark_and_trial_in_a_grid(page: Page, base_url, service_settings, factory_for):
    with session_scope(service_settings.sqlalchemy_url) as session:
        factory = factory_for(session)
        submission = factory.submission(trials=2)
        runs = {(run.benchmark, run.trial): run.id for run in submission.runs}
        done = runs[(SMOKE_BENCHMARKS[0], 1)]
        attempt = queries.runs.claim_run(session, done, "test-worker").attempt
        queries.runs.complete_run(session, done, attempt, factory.result(robust_score=0.7), log_tail="")
        training = runs[(SMOKE_BENCHMARKS[0], 2)]
        attempt = queries.runs.claim_run(session, training, "test-worker").attempt
        queries.runs.record_progress(session, training, attempt, _curve(1), epochs_total=2)
        submission_id = submission.id
    page.goto(f"{base_url}/submissions/{submission_id}")
    grid = page.locator("#trial-grid")
    expect(grid.locator("thead th")).to_have_text(["Benchmark", "trial 1", "trial 2"])
    expect(grid.locator("tbody tr")).to_have_count(len(SMOKE_BENCHMARKS))
    first = grid.locator("tbody tr").first
    expect(first.locator("th")).to_have_text(SMOKE_BENCHMARKS[0])
    expect(first.locator("td").nth(0)).to_have_text("succeeded robust_score 0.700")
    expect(first.locator("td").nth(1)).to_have_text("running epoch 1 of 2")
    expect(grid.locator("tbody tr").last.locator("td").nth(1)).to_have_text("queued")


def test_the_paired_comparisons_say_by_how_much_and_mark_the_significant_ones(
    page: Page, base_url, service_settings, factory_for
):
    # ours - generalized_ce = [0.20, 0.21, 0.21]: p = 0.0003 on every scope, within Holm's 0.05 / 8 and up
    scores = {
        "ours": {1: 0.80, 2: 0.82, 3: 0.81},
        "generalized_ce": {1: 0.60, 2: 0.61, 3: 0.60},
        "close": {1: 0.79, 2: 0.82, 3: 0.80},
    }
    kinds = {"ours": SubmissionKind.SUBMISSION, "generalized_ce": SubmissionKind.BASELINE}
    ids = {}
    with session_scope(service_settings.sqlalchemy_url) as session:
        factory = factory_for(session)
        for name, by_trial in scores.items():
            submission = factory.submission(kind=kinds.get(name, SubmissionKind.PUBLISHED), trials=3)
            submission.name = name
            for run in submission.runs:
                attempt = queries.runs.claim_run(session, run.id, "test-worker").attempt
                result = factory.result(robust_score=by_trial[run.trial])
                queries.runs.complete_run(session, run.id, attempt, result, log_tail="")
            ids[name] = submission.id
    page.goto(f"{base_url}/submissions/{ids['ours']}")
    rows = page.locator("#comparisons tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#comparisons thead th").first).to_have_text("Against")
    expect(page.locator("#comparisons thead th").nth(1)).to_have_text("headline")
    for name, verdict in (("generalized_ce", " better"), ("close", "")):
        difference = paired_difference(scores["ours"], scores[name])
        text = f"{difference.mean:+.3f} ± {difference.half_width:.3f}".replace("-", "−")
        headline = page.locator(f'#comparisons tr[data-against-id="{ids[name]}"] td[data-scope="headline"]')
        expect(headline).to_have_text(text + verdict)
    assert paired_difference(scores["ours"], scores["close"]).ci_low < 0  # "close" really is within the noise
    # two entries, the headline and every benchmark: one family, its size said beside the table
    expect(page.locator("#comparison-count")).to_have_text(str(2 * (1 + len(SMOKE_BENCHMARKS))))


def test_a_rerun_under_way_shows_beside_the_results_it_will_replace(
    page: Page, base_url, service_settings, factory_for
):
    with session_scope(service_settings.sqlalchemy_url) as session:
        factory = factory_for(session)
        submission = factory.submission(kind=SubmissionKind.BASELINE)
        _succeed(session, factory, submission)
        session.expire(submission)
        queries.submissions.rerun_submission(session, submission, factory.plan(1))
        submission_id = submission.id
    page.goto(f"{base_url}/submissions/{submission_id}")
    cells = page.locator("#trial-grid tbody td")
    expect(cells).to_have_text(["succeeded robust_score 0.700 rerun: queued"] * len(SMOKE_BENCHMARKS))


# What Chart.js drew on a page's first chart: its legend's labels, each dataset's marker radii, and where the
# legend and the axes lie against the canvas.
CHART_DRAWN = """(canvas) => {
  const chart = Chart.getChart(canvas);
  return {
    legend: chart.legend.legendItems.map((item) => item.text),
    radii: chart.data.datasets.map((_, index) => chart.getDatasetMeta(index).data.map((point) => point.options.radius)),
    width: chart.width,
    legendRight: Math.max(...chart.legend.legendHitBoxes.map((box) => box.left + box.width)),
    axes: Object.fromEntries(Object.entries(chart.scales).map(([id, scale]) => [id, [scale.left, scale.right]])),
  };
}"""


def _three_entries(service_settings, factory_for) -> dict[str, int]:
    """ours (0.81) leads close (0.80, within the noise) and generalized_ce (0.60), three trials each, two-epoch
    curves."""
    scores = {"ours": (0.80, 0.82, 0.81), "close": (0.79, 0.82, 0.80), "generalized_ce": (0.60, 0.61, 0.60)}
    kinds = {"ours": SubmissionKind.SUBMISSION, "close": SubmissionKind.PUBLISHED}
    ids = {}
    with session_scope(service_settings.sqlalchemy_url) as session:
        factory = factory_for(session)
        for name, by_trial in scores.items():
            submission = factory.submission(kind=kinds.get(name, SubmissionKind.BASELINE), trials=3)
            submission.name = name
            for run in submission.runs:
                attempt = queries.runs.claim_run(session, run.id, "test-worker").attempt
                result = {**factory.result(robust_score=by_trial[run.trial - 1]), "curve": _curve(2)}
                queries.runs.complete_run(session, run.id, attempt, result, log_tail="")
            ids[name] = submission.id
    return ids


def test_an_entry_that_leads_the_board_calls_no_other_entry_the_leader(
    page: Page, base_url, service_settings, factory_for
):
    ids = _three_entries(service_settings, factory_for)
    board = page.request.get(f"{base_url}/api/leaderboard?suite=smoke").json()["data"]
    assert board[0]["submission_id"] == ids["ours"] and board[0]["rank_best"] is not None  # ours leads
    progress = {name: page.request.get(f"{base_url}/api/submissions/{ids[name]}/public").json() for name in ids}
    assert {name: answer["leads"] for name, answer in progress.items()} == {name: name == "ours" for name in ids}
    page.goto(f"{base_url}/submissions/{ids['ours']}")
    marks = page.locator("#comparisons .leader-mark")
    expect(marks).to_have_count(1)
    expect(page.locator(f'#comparisons tr[data-against-id="{ids["close"]}"] .leader-mark')).to_have_text("runner-up")
    page.goto(f"{base_url}/submissions/{ids['close']}")  # another entry's page: ours is the leader there
    expect(page.locator(f'#comparisons tr[data-against-id="{ids["ours"]}"] .leader-mark')).to_have_text("leader")


def test_each_curve_says_which_line_is_dashed_and_only_the_last_epoch_has_a_marker(page: Page, base_url, seeded):
    page.goto(f"{base_url}/submissions/1")
    expect(page.locator("#curves canvas")).to_have_count(len(SMOKE_BENCHMARKS))
    drawn = page.locator("#curves canvas").first.evaluate(CHART_DRAWN)
    assert drawn["legend"] == ["test_acc ↑ (solid)", "poison_fit ↓ (dashed)"]
    assert drawn["radii"] == [[0, 3], [0, 3]]  # two epochs: a marker on the second only


def test_on_a_phone_each_chart_keeps_its_legend_and_both_axes_inside_the_screen(open_page, base_url, seeded):
    phone = {"width": 390, "height": 844}
    page = open_page(viewport=phone)
    page.goto(f"{base_url}/submissions/1")
    canvas = page.locator("#curves canvas").first
    expect(canvas).to_be_visible()
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= phone["width"], box
    drawn = canvas.evaluate(CHART_DRAWN)
    assert len(drawn["legend"]) == 2 and drawn["legendRight"] <= drawn["width"]
    assert drawn["axes"]["y"][0] >= 0 and drawn["axes"]["y1"][1] <= drawn["width"], drawn["axes"]


def test_on_a_phone_a_runs_status_and_progress_stay_in_view_with_its_seed_under_the_benchmark(
    open_page, base_url, seeded
):
    phone = {"width": 390, "height": 844}
    page = open_page(viewport=phone)
    page.goto(f"{base_url}/submissions/1")
    first = page.locator("#runs tbody tr").first
    expect(first.locator(".status")).to_have_text("succeeded")
    # Where the cells lie with the table not scrolled sideways: in view as the page opens, not after a swipe.
    boxes = first.evaluate(
        """(row) => [row.querySelector('.status'), row.querySelector('.progress-text')].map((cell) => {
          const box = cell.getBoundingClientRect();
          return [box.left, box.right, row.closest('.table-scroll').scrollLeft];
        })"""
    )
    assert all(left >= 0 and right <= phone["width"] and scrolled == 0 for left, right, scrolled in boxes), boxes
    seed = str(planned_trials(PUBLISHED_SEED, Suite.SMOKE, 1)[0].seeds.training_seed)
    expect(first.locator("th .method-meta")).to_have_text(f"seed {seed}")
    expect(first.locator("td").first).to_be_hidden()  # the Seed column itself gives way
