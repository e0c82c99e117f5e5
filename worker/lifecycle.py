"""One run on a worker: claim -> prepare -> train -> store, each outcome mapped to the run's status.

What a failure becomes (final and the loss's, or queued again) is worker.retry's policy, shared with the reaper.
"""

import dataclasses
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from db import queries
from db.models import FailureCause
from db.queries.runs import ClaimedRun
from db.session import session_scope
from harness.contract import LossFn
from harness.datasets import ImageSplits, load_splits
from harness.plan import TrialSeeds
from harness.registry import Benchmark, get_benchmark
from harness.result import PRIMARY_METRIC, EpochRecord, ResultSchemaError
from harness.trainer import resolve_device, run
from scoring.trials import run_seeds
from settings import Settings
from worker.heartbeat import Heartbeat
from worker.log_tail import LogTail, capture_log_tail
from worker.retry import RunOverBudget, decide, settle, write_retrying

logger = logging.getLogger(__name__)

# Opens a loss file's source, cited by its name (None: never stored), as a LossFn for the duration of the block:
# the sandbox in service.
LossOpener = Callable[[str, str | None], AbstractContextManager[LossFn]]


class RunAbandoned(Exception):
    """The run is no longer this attempt's (cancelled, or requeued by the reaper): stop and store nothing."""


class RetryLater(Exception):
    """An infrastructure failure with attempts left: the run is queued again and needs a new message."""


def execute_run(run_id: int, settings: Settings, worker: str, open_loss: LossOpener) -> None:
    """Trains the queued run that is first in the queue's fair order, which need not be the message's `run_id`
    (queries.runs.claim_next_run); a message that finds no queued run (a duplicate delivery) does nothing."""
    with session_scope(settings.sqlalchemy_url) as session:
        claimed = queries.runs.claim_next_run(session, worker)
    if claimed is None:
        logger.info("message for run %d: no run is queued (a duplicate delivery, or cancelled): skipped", run_id)
        return
    run_id = claimed.run_id
    where = f"{claimed.suite}/{claimed.benchmark} trial {claimed.trial}"
    logger.info("submission %d run %d attempt %d: %s", claimed.submission_id, run_id, claimed.attempt, where)
    heartbeat = Heartbeat(settings.sqlalchemy_url, run_id, claimed.attempt, settings.heartbeat_interval)
    with capture_log_tail() as log_tail, heartbeat:
        try:
            result = train(claimed, settings, heartbeat, open_loss)
        except RunAbandoned:
            logger.info("run %d attempt %d stopped: cancelled, or given to another worker", run_id, claimed.attempt)
            return
        except Exception as failure:
            _after_failure(settings, claimed, failure, log_tail)
            return
    try:
        _store(settings, claimed, result, log_tail)
    except ResultSchemaError as failure:
        _after_failure(settings, claimed, failure, log_tail)


def train(claimed: ClaimedRun, settings: Settings, heartbeat: Heartbeat, open_loss: LossOpener) -> dict:
    """Loads the data, trains with the loss on the run's trial, returns the RunResult as JSON without its poison
    seed."""
    benchmark = get_benchmark(claimed.benchmark, claimed.suite)
    splits = load_splits(benchmark, settings.datasets_dir)
    curve: list[dict] = []
    cpu_at_start = time.process_time()  # this process's CPU time, every thread: a busy host does not advance it

    def on_epoch(record: EpochRecord) -> None:
        if time.process_time() - cpu_at_start > settings.run_time_limit:
            raise RunOverBudget
        curve.append(dataclasses.asdict(record))
        owned = write_retrying(
            settings,
            lambda session: queries.runs.record_progress(
                session, claimed.run_id, claimed.attempt, curve, benchmark.epochs
            ),
        )
        if heartbeat.lost.is_set() or not owned:
            raise RunAbandoned
        logger.info(
            "run %d epoch %d/%d: loss %.4f, test_acc %.4f, poison_fit %.4f",
            claimed.run_id,
            record.epoch + 1,
            benchmark.epochs,
            record.train_loss,
            record.test_acc,
            record.poison_fit,
        )

    return train_trial(
        benchmark,
        splits,
        claimed.code,
        claimed.filename,
        claimed.sha256,
        run_seeds(settings.master_seed, claimed.suite, claimed.trial, claimed.seed, claimed.legacy_seed),
        open_loss,
        on_epoch,
    )


def train_trial(
    benchmark: Benchmark,
    splits: ImageSplits,
    code: str,
    filename: str | None,
    sha256: str,
    seeds: TrialSeeds,
    open_loss: LossOpener,
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> dict:
    """One trial of the loss on the benchmark, as the service trains it: the RunResult as JSON without its poison
    seed (secret: the API reads the stored result)."""
    with open_loss(code, filename) as loss_fn:
        result = run(
            benchmark,
            loss_fn,
            splits,
            seed=seeds.training_seed,
            poison_seed=seeds.poison_seed,
            device=resolve_device("auto"),
            loss_sha256=sha256,
            on_epoch=on_epoch,
        )
    return dataclasses.replace(result, poison_seed=None).to_dict()


def _store(settings: Settings, claimed: ClaimedRun, result: dict, log_tail: LogTail) -> None:
    stored = write_retrying(
        settings,
        lambda session: queries.runs.complete_run(session, claimed.run_id, claimed.attempt, result, log_tail.text()),
    )
    metrics = result["metrics"]
    if stored:
        logger.info("run %d succeeded: %s %.4f", claimed.run_id, PRIMARY_METRIC, metrics[PRIMARY_METRIC])
    else:
        logger.info("run %d: result discarded, the run was cancelled or given to another worker", claimed.run_id)


def _after_failure(settings: Settings, claimed: ClaimedRun, failure: Exception, log_tail: LogTail) -> None:
    """Settles the run by the retry policy; raises RetryLater when it was queued again."""
    decision = decide(failure, claimed.attempt, settings)
    if decision.cause is FailureCause.LOSS:
        logger.info("run %d failed by its loss: %s", claimed.run_id, decision.error)
    else:
        logger.exception("run %d attempt %d: infrastructure failure", claimed.run_id, claimed.attempt)
    requeue = decision.cause is None
    with session_scope(settings.sqlalchemy_url) as session:
        settled = settle(session, claimed.run_id, claimed.attempt, decision, log_tail.text())
        if settled and requeue:
            queries.runs.mark_dispatched(session, [claimed.run_id])  # the task's retry sends the message
    if settled and requeue:  # raised after the commit: the worker that picks the message up must find it queued
        raise RetryLater(decision.error)
