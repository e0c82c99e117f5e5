"""`poisonbench serve`, `worker` and `admin ...`: the service, composed from its parts."""

import argparse
import os
import signal
import subprocess
import sys
import warnings
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from sqlalchemy.orm import Session

from cli import CommandError, export_command
from db import queries
from db.models import Participant, Submission, SubmissionStatus
from db.session import session_scope
from harness.plan import SuitePlan
from harness.registry import Suite, benchmark_names, trained_benchmark_names, transfer_benchmark_names
from harness.result import PRIMARY_METRIC
from scoring.plan import suite_plan
from settings import WORKER_NICENESS, Settings, get_settings
from worker.baselines import SERVICE_LOSSES, baseline_suites, queue_baselines

# FastAPI, uvicorn, Celery, Alembic and torch (which worker.records_training loads) are imported inside the
# commands that need them: the admin commands start in a second or two, not the 15-25 s torch and torchvision take on
# a busy machine (tests/cli/test_import_weight.py).

# The benchmarks a rerun may name: the announced flips and the transfer track's hidden ones (the same in each suite).
RERUN_BENCHMARK_HELP = (
    f"only this benchmark: {', '.join(benchmark_names())}, or a hidden flip of the transfer track: "
    f"{', '.join(transfer_benchmark_names())}"
)
WORKER_STOP_SECONDS = 30  # how long `serve` waits for its workers to finish a clean shutdown
SHOWN_LOG_LINES = 20  # of a failed run's log tail, in `admin submissions show`


def register(subcommands: argparse._SubParsersAction) -> None:
    serve = subcommands.add_parser("serve", help="the API and its workers together (embedded: SQLite, no servers)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    serve.add_argument(
        "--suite",
        choices=[s.value for s in Suite],
        help="default: POISONBENCH_SUITE, else official with CUDA",
    )
    serve.set_defaults(handler=serve_all)

    worker = subcommands.add_parser("worker", help="a Celery worker: runs one run at a time (one per GPU)")
    worker.add_argument(
        "--maintenance",
        action="store_true",
        help="instead of runs, run the reaper on its schedule; start exactly one such worker per deployment",
    )
    worker.set_defaults(handler=start_worker)

    admin = subcommands.add_parser("admin", help="participants, baselines, submissions, export and the database")
    _register_admin(admin.add_subparsers(dest="admin_command", required=True, metavar="COMMAND"))


def _register_admin(commands: argparse._SubParsersAction) -> None:
    participant = commands.add_parser("participant", help="create participants, rotate their tokens")
    actions = participant.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a participant and print their token (shown once)")
    create.add_argument("name", help="display name, unique")
    create.add_argument("--admin", action="store_true", help="may see every submission")
    create.add_argument("--quiet", action="store_true", help="print the token alone, e.g. TOKEN=$(... --quiet)")
    create.set_defaults(handler=create_participant)
    rotate = actions.add_parser("rotate-token", help="replace a participant's token and print the new one")
    rotate.add_argument("name")
    rotate.set_defaults(handler=rotate_token)
    actions.add_parser("list", help="every participant").set_defaults(handler=list_participants)

    baselines = commands.add_parser("baselines", help="the four published baselines and the published methods")
    actions = baselines.add_subparsers(dest="action", required=True, metavar="ACTION")
    rerun = actions.add_parser(
        "rerun", help="queue them again; their results stay on the board until the new ones have all succeeded"
    )
    rerun.add_argument(
        "--suite",
        choices=[s.value for s in Suite],
        help="default: POISONBENCH_SUITE, else the suite whose baselines the database holds (the one `serve` chose)",
    )
    rerun.add_argument("--benchmark", choices=trained_benchmark_names(), metavar="NAME", help=RERUN_BENCHMARK_HELP)
    rerun.set_defaults(handler=rerun_baselines)
    record = actions.add_parser(
        "record",
        help="train them here, without a service, into the recorded results that a new service shows at first start",
    )
    record.add_argument("--suite", required=True, choices=[Suite.PROXY.value, Suite.SMOKE.value])
    record.add_argument("--jobs", type=int, default=1, help="runs at a time, each in its own process (default 1)")
    record.add_argument(
        "--benchmark",
        action="append",
        choices=trained_benchmark_names(),
        help="only this benchmark (repeatable); the file keeps the others' runs it already has",
    )
    record.add_argument("--out", type=Path, help="default: the file the project ships (worker/records/SUITE.jsonl)")
    record.set_defaults(handler=record_baselines)

    _register_submission_commands(commands)
    export_command.register_admin(commands)

    database = commands.add_parser("db", help="the database schema")
    database.add_subparsers(dest="action", required=True, metavar="ACTION").add_parser(
        "upgrade", help="apply the migrations (idempotent)"
    ).set_defaults(handler=upgrade_database)


def _register_submission_commands(commands: argparse._SubParsersAction) -> None:
    submissions = commands.add_parser("submissions", help="list, show, rerun, cancel, hide submissions")
    actions = submissions.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="newest first")
    listing.add_argument("--status", choices=[status.value for status in SubmissionStatus])
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(handler=list_submissions)
    for name, handler, help_text in (
        ("show", show_submission, "status, runs and errors of one submission"),
        ("rerun", rerun_submission, "queue its trials again; its results stay until the new ones all succeeded"),
        ("cancel", cancel_submission, "cancel its queued and running runs"),
        ("hide", hide_submission, "hide it from the leaderboard (--undo to show it again)"),
    ):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("id", type=int)
        action.set_defaults(handler=handler)
    actions.choices["rerun"].add_argument(
        "--benchmark", choices=trained_benchmark_names(), metavar="NAME", help=RERUN_BENCHMARK_HELP
    )
    actions.choices["hide"].add_argument("--undo", action="store_true", help="show it on the leaderboard again")


# ---------------------------------------------------------------- serve and worker


def serve_all(args: argparse.Namespace) -> None:
    import uvicorn

    from api.main import create_app
    from db.migrate import upgrade

    settings = _with_served_suite(get_settings(), args.suite)
    settings.data_root.mkdir(parents=True, exist_ok=True)
    upgrade(settings.sqlalchemy_url)
    _queue_missing_baselines(settings)
    workers = [_spawn_worker(settings), _spawn_worker(settings, "--maintenance")]
    # uvicorn re-raises the SIGTERM it shut down on; exiting through Python lets `finally` stop the workers.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        uvicorn.run(create_app(settings), host=args.host, port=args.port)
    finally:
        _stop(workers)


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _with_served_suite(settings: Settings, chosen: str | None) -> Settings:
    """The settings `serve` runs with: the suite chosen with --suite, else POISONBENCH_SUITE's, else official on a
    host with CUDA and proxy without."""
    if chosen:
        return settings.model_copy(update={"suite": Suite(chosen)})
    if settings.suite is not None:
        return settings
    import torch

    if torch.cuda.is_available():
        return settings.model_copy(update={"suite": Suite.OFFICIAL})
    print("no CUDA device: serving the proxy suite (pass --suite to choose)", file=sys.stderr)
    return settings.model_copy(update={"suite": Suite.PROXY})


def _queue_missing_baselines(settings: Settings) -> None:
    """On first start, the recorded results of the suite when they match this harness; else their training."""
    from worker.first_start import start_service_entries

    with session_scope(settings.sqlalchemy_url) as session:
        started = start_service_entries(session, suite_plan(settings, settings.suite))
    if started is None:
        return
    _dispatch(settings, started.run_ids)
    if started.records is not None:
        lacking = f"; queued the {len(started.run_ids)} transfer runs they lack" if started.run_ids else ""
        print(
            f"first start: the board shows the recorded results of the baselines and the published methods on the "
            f"{settings.suite} suite (harness {started.records.harness_version}); `poisonbench admin baselines "
            f"rerun` trains them here and replaces them{lacking}"
        )
        return
    unused = f"; no recorded results used: {started.unused_records}" if started.unused_records else ""
    print(
        f"first start: queued the baselines and the published methods of the {settings.suite} suite "
        f"({len(started.run_ids)} runs){unused}"
    )


def _spawn_worker(settings: Settings, *options: str) -> subprocess.Popen:
    # The served suite reaches the worker as the one setting it is given beside the environment's: a worker reads
    # its settings from the environment, and in production refuses to start without a suite.
    environment = {**os.environ, "POISONBENCH_SUITE": settings.suite}
    # A session of its own: a Ctrl-C in the terminal reaches `serve` only, which stops the worker in order
    # (a signal sent straight to Celery's pool process leaves the worker hanging).
    command = [sys.executable, "-m", "cli.main", "worker", *options]
    return subprocess.Popen(command, env=environment, start_new_session=True)


def _stop(workers: Sequence[subprocess.Popen]) -> None:
    for worker in workers:
        worker.terminate()  # Celery's warm shutdown: lets the running run finish
    for worker in workers:
        try:
            worker.wait(WORKER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            # The worker's whole process group: its pool and beat processes too. An unfinished run is requeued
            # by the reaper once its heartbeat is stale.
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def start_worker(args: argparse.Namespace) -> None:
    from celery.exceptions import SecurityWarning

    from runqueue.app import MAINTENANCE_QUEUE, RUNS_QUEUE, make_celery

    settings = get_settings()
    settings.data_root.mkdir(parents=True, exist_ok=True)  # the embedded database and broker live there
    # Below the uploads' checks either way (settings.check_niceness); inherited by the pool and the loss processes.
    if settings.idle_background_work:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    else:
        os.setpriority(os.PRIO_PROCESS, 0, max(WORKER_NICENESS, os.getpriority(os.PRIO_PROCESS, 0)))
    if args.maintenance:
        options = ["--queues", MAINTENANCE_QUEUE, "--beat", "--hostname", "maintenance@%h"]
    else:
        options = ["--queues", RUNS_QUEUE, "--hostname", "runs@%h"]
    # Celery warns on every start as root. Root is deliberate where it happens (`make serve` on a Debian machine):
    # the sandbox drops each loss process to its unprivileged user before anything runs (sandbox/launch.py), and
    # the worker accepts JSON only, so Celery's concern, unpickling a message as root, does not arise. The
    # Docker image runs the worker as a user of its own.
    warnings.filterwarnings("ignore", message="You're running the worker with superuser", category=SecurityWarning)
    make_celery(settings).worker_main(["worker", "--loglevel", "INFO", "--concurrency", "1", *options])


# ---------------------------------------------------------------- admin


def _session() -> AbstractContextManager[Session]:
    return session_scope(get_settings().sqlalchemy_url)


def _plan(suite: str) -> SuitePlan:
    return suite_plan(get_settings(), suite)


def _dispatch(settings: Settings, run_ids: list[int]) -> None:
    from runqueue.app import make_celery
    from runqueue.dispatch import dispatch_runs

    with session_scope(settings.sqlalchemy_url) as session:
        if not dispatch_runs(make_celery(settings), session, run_ids):
            print("broker unreachable: the runs stay queued and the reaper sends them later", file=sys.stderr)


def create_participant(args: argparse.Namespace) -> None:
    with _session() as session:
        if queries.participants.participant_by_name(session, args.name) is not None:
            raise CommandError(f"a participant named {args.name!r} exists; rotate its token instead")
        participant, token = queries.participants.create_participant(session, args.name, args.admin)
    if args.quiet:
        print(token)
        return
    print(f"participant {participant.id} {participant.display_name!r}{' (admin)' if args.admin else ''}")
    print(f"token (shown once, store it now): {token}")


def rotate_token(args: argparse.Namespace) -> None:
    with _session() as session:
        token = queries.participants.rotate_token(session, _participant(session, args.name))
    print(f"new token for {args.name!r} (the old one no longer works): {token}")


def list_participants(_args: argparse.Namespace) -> None:
    with _session() as session:
        for p in queries.participants.list_participants(session):
            print(f"{p.id:>5}  {p.display_name:30}  {'admin' if p.is_admin else ''}")


def _participant(session: Session, name: str) -> Participant:
    participant = queries.participants.participant_by_name(session, name)
    if participant is None:
        raise CommandError(f"no participant named {name!r}; `poisonbench admin participant list` shows them")
    return participant


def rerun_baselines(args: argparse.Namespace) -> None:
    settings = get_settings()
    with _session() as session:
        suite = args.suite or settings.suite or _suite_of_the_baselines(session)
        run_ids = queue_baselines(session, _plan(suite), [args.benchmark] if args.benchmark else None)
    _dispatch(settings, run_ids)
    print(f"queued {len(run_ids)} runs of the baselines and the published methods on the {suite} suite")


def record_baselines(args: argparse.Namespace) -> None:
    from worker.records_file import RecordedRun, records_path
    from worker.records_training import record

    settings = get_settings()
    path = args.out or records_path(args.suite)
    plan = _plan(args.suite)
    benchmarks = args.benchmark or plan.trained_benchmarks
    runs = len(SERVICE_LOSSES) * len(benchmarks) * len(plan.trials)
    print(f"recording {runs} runs of the {args.suite} suite into {path}, {args.jobs} at a time", file=sys.stderr)

    def report(run: RecordedRun, done: int, total: int) -> None:
        score = run.result["metrics"][PRIMARY_METRIC]
        line = f"[{done}/{total}] {run.loss} {run.benchmark} trial {run.trial}: {PRIMARY_METRIC} {score:.4f}"
        print(line, file=sys.stderr)

    records = record(plan, settings.datasets_dir, args.jobs, path, report, args.benchmark)
    print(f"{path} holds {len(records.runs)} runs")


def _suite_of_the_baselines(session: Session) -> str:
    """`serve` chooses its suite for itself and its workers, so a shell beside it finds the suite in the database."""
    suites = baseline_suites(session)
    if not suites:
        raise CommandError("no baselines have been queued yet: pass --suite (`poisonbench serve` queues them itself)")
    if len(suites) > 1:
        raise CommandError(f"the database holds baselines of several suites ({', '.join(suites)}): pass --suite")
    return suites[0]


def list_submissions(args: argparse.Namespace) -> None:
    with _session() as session:
        submissions, count = queries.submissions.list_submissions(
            session, participant_id=None, limit=args.limit, status=args.status
        )
        print(f"{'id':>6}  {'status':9}  {'suite':8}  {'kind':10}  {'participant':20}  name")
        for s in submissions:
            owner, hidden = s.participant.display_name, " hidden" if s.hidden else ""
            print(f"{s.id:>6}  {s.status:9}  {s.suite:8}  {s.kind:10}  {owner:20}  {s.name}{hidden}")
    print(f"{len(submissions)} of {count}")


def show_submission(args: argparse.Namespace) -> None:
    with _session() as session:
        s = _submission(session, args.id)
        print(f"submission {s.id} {s.name!r} by {s.participant.display_name} ({s.kind}, {s.suite})")
        hidden = " hidden" if s.hidden else ""
        print(f"status {s.status}{hidden}; sha256 {s.sha256}; created {s.created_at:%F %T} UTC")
        if s.error:
            print(f"error ({s.failure_cause}): {s.error}")
        if s.rerun_error:
            print(f"rerun failed: {s.rerun_error}")
        if s.replacement_runs:
            print(f"rerun under way: {len(s.replacement_runs)} runs replace the results below once all succeeded")
        for run in [*s.runs, *s.replacement_runs]:
            score = f"{PRIMARY_METRIC} {run.metrics[PRIMARY_METRIC]:.4f}" if run.metrics else ""
            progress = f"{run.epochs_done}/{run.epochs_total or '?'} epochs"
            print(
                f"  run {run.id:>6} {run.benchmark:30} trial {run.trial:<2} {run.status:9} "
                f"{'(rerun) ' if run.pending_replacement else ''}"
                f"attempts {run.attempts} {progress} {score} {run.error or ''}"
            )
            if run.error and run.log_tail:  # the worker's last lines: the traceback of an infrastructure failure
                print("    " + "\n    ".join(run.log_tail.splitlines()[-SHOWN_LOG_LINES:]))


def rerun_submission(args: argparse.Namespace) -> None:
    with _session() as session:
        benchmarks = [args.benchmark] if args.benchmark else None
        submission = _submission(session, args.id)
        run_ids = queries.submissions.rerun_submission(session, submission, _plan(submission.suite), benchmarks)
    _dispatch(get_settings(), run_ids)
    print(f"submission {args.id}: {len(run_ids)} runs queued again")


def cancel_submission(args: argparse.Namespace) -> None:
    with _session() as session:
        cancelled = queries.submissions.cancel_submission(session, _submission(session, args.id))
    print(f"submission {args.id}: {len(cancelled)} runs cancelled")


def hide_submission(args: argparse.Namespace) -> None:
    with _session() as session:
        queries.submissions.set_hidden(session, _submission(session, args.id), not args.undo)
    print(f"submission {args.id} is {'shown on' if args.undo else 'hidden from'} the leaderboard")


def _submission(session: Session, submission_id: int) -> Submission:
    submission = queries.submissions.get_submission(session, submission_id)
    if submission is None:
        raise CommandError(f"no submission {submission_id}")
    return submission


def upgrade_database(_args: argparse.Namespace) -> None:
    from db.migrate import upgrade

    upgrade(get_settings().sqlalchemy_url)
    print("database schema is up to date")
