"""`poisonbench admin ...` as an administrator calls it, on a committed database and the test Redis.

(Here rather than in tests/cli: these commands compose db/ and worker/, and these are their fixtures.)"""

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select

from cli.main import main
from cli.service_commands import _queue_missing_baselines
from db import queries
from db.models import Run, Submission, SubmissionKind, SubmissionStatus
from db.session import session_scope
from harness.losses import BASELINES
from harness.registry import Suite, benchmark_names, trained_benchmark_names
from runqueue.app import RUNS_QUEUE
from scoring.plan import suite_plan
from settings import get_settings
from worker import records_staleness
from worker.baselines import PUBLISHED_METHODS, SERVICE_LOSSES

SMOKE_RUNS = len(trained_benchmark_names(Suite.SMOKE))  # an entry's, per trial


@pytest.fixture
def poisonbench(database_url, redis_url, redis_client, monkeypatch, capsys) -> Iterator[Callable[..., str]]:
    """Runs the command with the service's settings in the environment; returns what it printed."""
    monkeypatch.setenv("POISONBENCH_DATABASE_URL", database_url)
    monkeypatch.setenv("POISONBENCH_BROKER_URL", redis_url)
    monkeypatch.setenv("POISONBENCH_SUITE", Suite.SMOKE)
    get_settings.cache_clear()

    def run(*args: str, status: int = 0) -> str:
        assert main(list(args)) == status
        out, err = capsys.readouterr()
        return out + err

    yield run
    get_settings.cache_clear()


def test_a_created_participants_token_works_until_it_is_rotated(poisonbench, database_url):
    token = poisonbench("admin", "participant", "create", "ada").split()[-1]
    with session_scope(database_url) as session:
        assert queries.participants.participant_by_token(session, token).display_name == "ada"
    assert "exists" in poisonbench("admin", "participant", "create", "ada", status=2)
    new_token = poisonbench("admin", "participant", "rotate-token", "ada").split()[-1]
    with session_scope(database_url) as session:
        assert queries.participants.participant_by_token(session, token) is None
        assert queries.participants.participant_by_token(session, new_token) is not None
    assert "ada" in poisonbench("admin", "participant", "list")


def test_rerunning_the_baselines_queues_them_and_the_published_methods_and_keeps_earlier_runs_as_history(
    poisonbench, database_url, redis_client
):
    losses = len(BASELINES) + len(PUBLISHED_METHODS)
    trials = get_settings().trials(Suite.SMOKE)
    assert f"queued {losses * SMOKE_RUNS * trials} runs" in poisonbench("admin", "baselines", "rerun")
    benchmark = benchmark_names(Suite.SMOKE)[0]
    assert f"queued {losses * trials} runs" in poisonbench("admin", "baselines", "rerun", "--benchmark", benchmark)
    assert redis_client.llen(RUNS_QUEUE) == losses * (SMOKE_RUNS + 1) * trials
    with session_scope(database_url) as session:
        kinds = {s.name: s.kind for s in session.scalars(select(Submission))}
        assert kinds == {
            **dict.fromkeys(BASELINES, SubmissionKind.BASELINE),
            **dict.fromkeys(PUBLISHED_METHODS, SubmissionKind.PUBLISHED),
        }
        assert session.scalar(select(func.count()).select_from(Run)) == losses * (SMOKE_RUNS + 1) * trials


def test_an_administrator_shows_cancels_hides_and_reruns_a_submission(poisonbench, database_url):
    poisonbench("admin", "baselines", "rerun")
    assert "cross_entropy" in poisonbench("admin", "submissions", "show", "1")
    runs = SMOKE_RUNS * get_settings().trials(Suite.SMOKE)
    assert f"{runs} runs cancelled" in poisonbench("admin", "submissions", "cancel", "1")
    assert "hidden from" in poisonbench("admin", "submissions", "hide", "1")
    assert f"{runs} runs queued again" in poisonbench("admin", "submissions", "rerun", "1")
    with session_scope(database_url) as session:
        submission = queries.submissions.get_submission(session, 1)
        assert submission.hidden and submission.status is SubmissionStatus.QUEUED
    assert poisonbench("admin", "submissions", "list", "--status", "cancelled").splitlines()[1:] == ["0 of 0"]
    assert "no submission 99" in poisonbench("admin", "submissions", "show", "99", status=2)


def test_upgrading_the_database_twice_is_harmless(poisonbench):
    assert "up to date" in poisonbench("admin", "db", "upgrade")
    assert "up to date" in poisonbench("admin", "db", "upgrade")


def test_an_administrator_is_told_when_a_rerun_failed_and_that_the_old_results_stay(
    poisonbench, database_url, factory_for
):
    with session_scope(database_url) as session:
        factory = factory_for(session)
        submission = factory.submission(trials=get_settings().trials(Suite.SMOKE))
        factory.finish(submission, robust_score=0.6)
        submission_id = submission.id
    assert "runs queued again" in poisonbench("admin", "submissions", "rerun", str(submission_id))
    assert "rerun under way" in poisonbench("admin", "submissions", "show", str(submission_id))
    with session_scope(database_url) as session:
        pending = queries.submissions.get_submission(session, submission_id).replacement_runs[0]
        claimed = queries.runs.claim_run(session, pending.id, "worker")
        queries.runs.fail_run(session, pending.id, claimed.attempt, "the GPU fell off", "infrastructure", "", "x")
    shown = poisonbench("admin", "submissions", "show", str(submission_id))
    assert "status succeeded" in shown and "rerun failed" in shown and "the GPU fell off" in shown


def _queued(submission: Submission) -> set[tuple[str, int, bool]]:
    """(benchmark, trial, transfer) of the submission's current and replacement runs."""
    return {(run.benchmark, run.trial, run.transfer) for run in [*submission.runs, *submission.replacement_runs]}


def _whole_plan() -> set[tuple[str, int, bool]]:
    """(benchmark, trial, transfer) of every run of the smoke suite's plan, as scoring.plan.suite_plan builds it."""
    plan = suite_plan(get_settings(), Suite.SMOKE)
    tracks = ((plan.benchmarks, False), (plan.transfer_benchmarks, True))
    return {
        (benchmark, trial.index, transfer) for names, transfer in tracks for benchmark in names for trial in plan.trials
    }


def test_a_whole_rerun_from_the_command_line_queues_the_transfer_track_of_a_submission_stored_before_it(
    poisonbench, database_url, factory_for
):
    with session_scope(database_url) as session:
        stored_before = factory_for(session).submission(trials=get_settings().trials(Suite.SMOKE))  # no transfer run
        assert not any(transfer for *_, transfer in _queued(stored_before))
        submission_id = stored_before.id
    poisonbench("admin", "submissions", "rerun", str(submission_id))
    with session_scope(database_url) as session:
        assert _queued(queries.submissions.get_submission(session, submission_id)) == _whole_plan()


def test_serve_s_first_start_without_usable_recorded_results_queues_the_whole_plan_for_every_service_loss(
    poisonbench, database_url, redis_client, monkeypatch, capsys
):
    monkeypatch.setattr(records_staleness, "read_records", lambda suite, path=None: None)
    _queue_missing_baselines(get_settings())
    assert "first start: queued the baselines" in capsys.readouterr().out
    with session_scope(database_url) as session:
        entries = session.scalars(select(Submission)).all()
        assert sorted(entry.name for entry in entries) == sorted(SERVICE_LOSSES)
        assert all(_queued(entry) == _whole_plan() for entry in entries)
    assert redis_client.llen(RUNS_QUEUE) == len(SERVICE_LOSSES) * len(_whole_plan())
