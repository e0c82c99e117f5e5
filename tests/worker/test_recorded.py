"""The recorded results the project ships: current with this harness, secret-free, installed as the service's
entries on a new database, and replaced by a local rerun."""

import dataclasses

import pytest

import harness
from db import queries
from db.models import Run, RunStatus
from harness.plan import SuitePlan
from harness.registry import FLIP_DESIGN, Suite, benchmark_names, flip_design, transfer_benchmark_names
from scoring.leaderboard import group_by_submission, rank_entries
from scoring.plan import suite_plan
from scoring.trials import planned_trials
from settings import PUBLISHED_SEED, Settings
from worker import records_training
from worker.baselines import SERVICE_LOSSES, SERVICE_PARTICIPANT
from worker.records_file import read_records, records_path, write_header, write_run
from worker.records_install import install_records
from worker.records_staleness import missing_transfer_runs, stale_because, usable_records

SHIPPED_SUITES = (Suite.PROXY, Suite.SMOKE)


def _plan(suite: Suite) -> SuitePlan:
    """What a new service trains: the suite's plan under the development master seed."""
    return suite_plan(Settings(master_seed=PUBLISHED_SEED), suite)


@pytest.mark.parametrize("suite", SHIPPED_SUITES)
def test_the_shipped_records_are_of_this_harness_version(suite):
    records = read_records(suite)
    assert records is not None, f"no recorded results for {suite}: `poisonbench admin baselines record --suite {suite}`"
    assert records.harness_version == harness.HARNESS_VERSION, (
        f"the {suite} records are of harness {records.harness_version}: record them again with "
        f"`poisonbench admin baselines record --suite {suite}`"
    )
    assert {run.result["harness_version"] for run in records.runs} == {harness.HARNESS_VERSION}


@pytest.mark.parametrize("suite", SHIPPED_SUITES)
def test_the_shipped_records_hold_every_announced_flip_run_a_new_service_would_train_now(suite):
    records = read_records(suite)
    assert stale_because(records, _plan(suite)) is None  # every run they hold is what the service would train
    announced = [run for run in records.runs if run.benchmark in benchmark_names(suite)]
    assert len(announced) == len(SERVICE_LOSSES) * len(benchmark_names(suite)) * Settings().trials(suite)


@pytest.mark.parametrize("suite", SHIPPED_SUITES)
def test_the_shipped_records_hold_the_transfer_track_too_so_a_new_service_trains_nothing(suite):
    assert missing_transfer_runs(read_records(suite), _plan(suite)) == []


@pytest.mark.parametrize("suite", SHIPPED_SUITES)
def test_the_shipped_records_hold_no_poison_seed(suite):
    text = records_path(suite).read_text()
    assert all(run.result["poison_seed"] is None for run in read_records(suite).runs)
    for trial in _plan(suite).trials:
        assert str(trial.seeds.poison_seed) not in text


def test_records_of_another_harness_version_a_changed_loss_file_or_other_trials_are_stale():
    records = read_records(Suite.SMOKE)
    plan = _plan(Suite.SMOKE)
    older = dataclasses.replace(records, harness_version="0.9.0")
    assert f"recorded with harness 0.9.0, this is harness {harness.HARNESS_VERSION}" == stale_because(older, plan)
    first, *rest = records.runs
    edited = dataclasses.replace(records, runs=(dataclasses.replace(first, loss_sha256="0" * 64), *rest))
    assert stale_because(edited, plan) == f"{first.loss}: its loss file changed since it was recorded"
    other_seed = dataclasses.replace(plan, trials=planned_trials(PUBLISHED_SEED + 1, Suite.SMOKE, len(plan.trials)))
    assert "other trials" in stale_because(records, other_seed)
    assert "1 runs missing" in stale_because(dataclasses.replace(records, runs=tuple(rest)), plan)


def test_records_without_transfer_runs_are_used_and_the_service_trains_those_it_lacks(any_session):
    records = read_records(Suite.SMOKE)
    plan = _plan(Suite.SMOKE)
    announced = tuple(run for run in records.runs if run.benchmark in plan.benchmarks)
    partial = dataclasses.replace(records, runs=announced)
    assert stale_because(partial, plan) is None
    lacking = missing_transfer_runs(partial, plan)
    assert len(lacking) == len(SERVICE_LOSSES) * len(plan.transfer_benchmarks) * len(plan.trials)
    queued = install_records(any_session, partial, plan)
    runs = any_session.query(Run).filter(Run.id.in_(queued)).all()
    assert len(runs) == len(lacking) and all(run.transfer and run.status is RunStatus.QUEUED for run in runs)
    assert {(run.benchmark, run.trial) for run in runs} == {(b, t.index) for _, b, t in lacking}
    assert set(_board(any_session)) == set(SERVICE_LOSSES)  # on the board with their headline meanwhile


def _board(session, suite: Suite = Suite.SMOKE):
    scores = group_by_submission(queries.leaderboard.board_rows(session, suite, harness.HARNESS_VERSION))
    return {entry.submission.name: entry for entry in rank_entries(scores, _plan(suite))}


def test_installed_records_are_every_service_entry_complete_and_marked_with_nothing_queued(any_session):
    records, stale = usable_records(_plan(Suite.SMOKE))
    assert stale == ""
    assert install_records(any_session, records, _plan(Suite.SMOKE)) == []
    board = _board(any_session)
    assert set(board) == set(SERVICE_LOSSES)
    for name, entry in board.items():
        assert entry.submission.recorded and not entry.provisional
        assert entry.transfer is not None and entry.transfer.n == Settings().trials(Suite.SMOKE)
        assert entry.transfer_flip_design == FLIP_DESIGN and entry.transfer_rank is not None  # recorded again
        for track, benchmarks in ((entry.headline, benchmark_names), (entry.transfer, transfer_benchmark_names)):
            shipped = [run for run in records.runs if run.loss == name and run.benchmark in benchmarks(Suite.SMOKE)]
            mean = sum(run.result["metrics"]["robust_score"] for run in shipped) / len(shipped)
            assert track.mean == pytest.approx(mean)
    assert any_session.query(Run).filter(Run.status != RunStatus.SUCCEEDED).count() == 0
    owner = queries.participants.participant_by_name(any_session, SERVICE_PARTICIPANT)
    assert owner is not None and not owner.is_admin


def test_a_local_rerun_replaces_the_recorded_results_once_all_its_runs_succeeded(any_factory):
    session = any_factory.session
    records, _ = usable_records(_plan(Suite.SMOKE))
    install_records(session, records, _plan(Suite.SMOKE))
    owner = queries.participants.participant_by_name(session, SERVICE_PARTICIPANT)
    submission = queries.submissions.latest_submission_named(session, owner.id, "cross_entropy", Suite.SMOKE)
    queries.submissions.rerun_submission(session, submission, _plan(Suite.SMOKE))
    *first_runs, last = submission.replacement_runs
    for run in first_runs:
        claimed = queries.runs.claim_run(session, run.id, "worker")
        queries.runs.complete_run(session, run.id, claimed.attempt, any_factory.result(0.5), "")
    assert _board(session)["cross_entropy"].submission.recorded  # until the whole rerun has succeeded
    claimed = queries.runs.claim_run(session, last.id, "worker")
    queries.runs.complete_run(session, last.id, claimed.attempt, any_factory.result(0.5), "")
    board = _board(session)
    assert not board["cross_entropy"].submission.recorded and board["cross_entropy"].headline.mean == 0.5
    assert board["generalized_ce"].submission.recorded


def test_the_proxy_records_transfer_runs_of_flip_design_1_are_installed_shown_with_it_and_not_ranked(any_session):
    records, stale = usable_records(_plan(Suite.PROXY))
    assert stale == ""
    assert install_records(any_session, records, _plan(Suite.PROXY)) == []  # nothing trained again meanwhile
    for entry in _board(any_session, Suite.PROXY).values():
        assert entry.rank is not None and entry.transfer.n == Settings().trials(Suite.PROXY)
        assert entry.transfer_flip_design == 1 and entry.transfer_rank is None


@pytest.mark.parametrize("suite", SHIPPED_SUITES)
def test_the_shipped_records_say_which_flip_design_trained_each_transfer_run(suite):
    for run in read_records(suite).runs:
        assert (run.flip_design is None) == (run.benchmark in benchmark_names(suite))
    assert {run.flip_design for run in read_records(Suite.PROXY).runs} == {None, 1}  # kept from before design 2


def test_recording_a_benchmark_trains_its_old_flip_design_runs_again_and_keeps_those_of_the_others(
    tmp_path, monkeypatch
):
    plan = _plan(Suite.SMOKE)
    path = tmp_path / "smoke.jsonl"
    with path.open("w") as out:  # the shipped records, their transfer runs as if trained under design 1
        write_header(out, plan)
        for run in read_records(Suite.SMOKE).runs:
            write_run(out, dataclasses.replace(run, flip_design=1 if run.flip_design else None))
    trained = []

    def train_all(suite, todo, datasets_dir, jobs):
        for name, benchmark, trial in todo:
            trained.append((name, benchmark, trial.index))
            shipped = next(r for r in read_records(suite).runs if (r.loss, r.benchmark, r.trial) == trained[-1])
            yield dataclasses.replace(shipped, flip_design=flip_design(benchmark))

    monkeypatch.setattr(records_training, "_train_all", train_all)
    announced = records_training.record(plan, tmp_path, 1, path, benchmarks=plan.benchmarks[:1])
    assert trained == [] and {run.flip_design for run in announced.runs} == {None, 1}  # old transfer runs kept
    records = records_training.record(plan, tmp_path, 1, path, benchmarks=plan.transfer_benchmarks)
    assert sorted(trained) == sorted((r.loss, r.benchmark, r.trial) for r in records.runs if r.flip_design)
    assert len(trained) == len(SERVICE_LOSSES) * len(plan.transfer_benchmarks) * len(plan.trials)
    assert {run.flip_design for run in records.runs} == {None, FLIP_DESIGN} and len(records.runs) == len(
        read_records(Suite.SMOKE).runs
    )
