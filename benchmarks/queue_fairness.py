"""How long a participant's first submission waits behind the baselines on one worker: the fair order against
today's first-come order.

The scenario of the issue: the first start has queued 15 runs of the service's losses (5 losses x the proxy suite's
3 benchmarks, one trial each), one worker has just started the first of them, and a participant submits one loss,
which runs the suite's trials on every benchmark. Both orders drain the same queue through the real queries on a
fresh embedded database: the fair one through the worker's own claim (queries.runs.claim_next_run), the first-come
one by taking the oldest queued run (the order before the fair queue). Each run is taken to last `--run-seconds`
(default 103 s: one proxy trial on 3 benchmarks, 309 s, over 3; docs/statistics.md), on the one worker.

    python benchmarks/queue_fairness.py [--run-seconds 103] [--trials 3]
"""

import argparse
import dataclasses
import hashlib
import tempfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import queries
from db.migrate import upgrade
from db.models import Run, RunStatus, SubmissionKind
from db.queries.runs import ClaimedRun
from db.session import session_scope
from harness.plan import SuitePlan
from harness.registry import Suite
from harness.result import PRIMARY_METRIC
from scoring.plan import suite_plan
from settings import Settings

SUITE = Suite.PROXY
SERVICE_LOSSES = 5  # the four baselines and the reference loss the first start queued before trials
MASTER_SEED = 42  # the development default; the order does not depend on it

Claim = Callable[[Session], ClaimedRun | None]


def first_come(session: Session) -> ClaimedRun | None:
    """The order before the fair queue: the oldest queued run."""
    run_id = session.scalar(
        select(Run.id)
        .where(Run.status == RunStatus.QUEUED, Run.superseded_at.is_(None))
        .order_by(Run.queued_at, Run.id)
        .limit(1)
    )
    return None if run_id is None else queries.runs.claim_run(session, run_id, "worker")


def fair(session: Session) -> ClaimedRun | None:
    return queries.runs.claim_next_run(session, "worker")


def drain(claim: Claim, trials: int, workdir: Path) -> tuple[int, list[int]]:
    """The participant's submission id and the order its runs and the baselines' start in: a list of submission ids
    in start order, the run the worker held when the participant submitted first."""
    url = f"sqlite:///{workdir / 'queue.sqlite3'}"
    upgrade(url)
    with session_scope(url) as session:
        owner, _ = queries.participants.create_participant(session, "PoisonBench")
        for index in range(SERVICE_LOSSES):
            _submit(session, owner, f"baseline {index}", SubmissionKind.BASELINE, 1)
        started = [claim(session).submission_id]  # the worker is busy with the first baseline run
        participant, _ = queries.participants.create_participant(session, "ada")
        mine = _submit(session, participant, "mine", SubmissionKind.SUBMISSION, trials)
        while (claimed := claim(session)) is not None:
            queries.runs.complete_run(session, claimed.run_id, claimed.attempt, _result(), "")
            started.append(claimed.submission_id)
    return mine, started


def _plan(trials: int) -> SuitePlan:
    """The suite's plan with `trials` trials, its announced runs only: the figures (docs/service.md) were measured
    before the transfer track, which adds as many runs again to every entry."""
    plan = suite_plan(Settings(master_seed=MASTER_SEED, trials_proxy=trials), SUITE)
    return dataclasses.replace(plan, transfer_benchmarks=())


def _submit(session: Session, owner, name: str, kind: SubmissionKind, trials: int) -> int:
    submission = queries.submissions.create_submission(
        session,
        owner,
        plan=_plan(trials),
        name=name,
        code=f"# {name}",
        sha256=hashlib.sha256(name.encode()).hexdigest(),
        kind=kind,
    )
    return submission.id


def _result() -> dict:
    return {"metrics": {PRIMARY_METRIC: 0.5}, "curve": [], "environment": {}, "harness_version": "queue-fairness"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-seconds", type=float, default=103.0, help="duration of one run (default 103 s)")
    parser.add_argument("--trials", type=int, default=3, help="the participant's trials (default 3, the proxy's)")
    args = parser.parse_args()
    benchmarks = len(_plan(args.trials).benchmarks)
    print(
        f"{SERVICE_LOSSES * benchmarks} queued baseline runs (one held by the worker), then one submission of "
        f"{args.trials} trials x {benchmarks} benchmarks; one worker, {args.run_seconds:.0f} s per run.\n"
    )
    print("| order | runs before its first run starts | wait for its first run | runs before its trial 1 is complete |")
    print("|---|---|---|---|")
    waits = {}
    for name, claim in (("first-come (before)", first_come), ("fair (now)", fair)):
        with tempfile.TemporaryDirectory() as workdir:
            mine, started = drain(claim, args.trials, Path(workdir))
        first = started.index(mine)
        trial_1_done = [i for i, submission_id in enumerate(started) if submission_id == mine][benchmarks - 1] + 1
        waits[name] = first
        print(
            f"| {name} | {first} | {first * args.run_seconds:.0f} s ({first * args.run_seconds / 60:.1f} min) "
            f"| {trial_1_done - benchmarks} |"
        )
    before, now = waits["first-come (before)"], waits["fair (now)"]
    print(f"\nThe fair order cuts the first run's wait from {before} runs to {now} ({before / max(now, 1):.0f} times).")


if __name__ == "__main__":
    main()
