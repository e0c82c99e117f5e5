"""One run on a worker: claim -> prepare -> train -> store, each outcome mapped to the run's status.

The loss's own failures (harness.contract.LossContractError, the wall-time limit) are final and reported to
the participant; any other failure is the infrastructure's, retried while attempts remain.
"""

import dataclasses
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TypeVar

from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import harness
from db import queries
from db.models import FailureCause
from db.queries.runs import ClaimedRun
from db.session import session_scope
from harness.contract import LossContractError, LossFn
from harness.datasets import load_splits
from harness.registry import get_benchmark
from harness.result import EpochRecord
from harness.trainer import resolve_device, run
from settings import Settings
from worker.heartbeat import Heartbeat
from worker.log_tail import LogTail, capture_log_tail

logger = logging.getLogger(__name__)
T = TypeVar("T")
RECONNECT_INTERVAL = 1.0  # seconds between two tries of a write while the database is unreachable

# Opens a loss file's source as a LossFn for the duration of the block: the sandbox in service.
LossOpener = Callable[[str], AbstractContextManager[LossFn]]


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
            logger.info(
                "run %d attempt %d stopped: cancelled, or given to another worker", run_id, claimed.attempt
            )
            return
        except LossContractError as error:
            _fail(settings, claimed, str(error), log_tail)
            return
        except SoftTimeLimitExceeded:
            limit = settings.run_time_limit
            _fail(
                settings,
                claimed,
                f"the run exceeded its {limit} s wall-time limit; speed up compute_loss",
                log_tail,
            )
            return
        except Exception as error:  # everything else is the infrastructure's fault
            logger.exception("run %d attempt %d: infrastructure failure", run_id, claimed.attempt)
            _after_infrastructure_failure(settings, claimed, error, log_tail)
            return
    _store(settings, claimed, result, log_tail)


def train(claimed: ClaimedRun, settings: Settings, heartbeat: Heartbeat, open_loss: LossOpener) -> dict:
    """Loads the data, trains with the loss on the run's trial, returns the RunResult as JSON without its poison
    seed."""
    benchmark = get_benchmark(claimed.benchmark, claimed.suite)
    splits = load_splits(benchmark, settings.datasets_dir)
    curve: list[dict] = []

    def on_epoch(record: EpochRecord) -> None:
        curve.append(dataclasses.asdict(record))
        owned = _write_patiently(
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

    seeds = claimed.seeds(settings.master_seed)
    with open_loss(claimed.code) as loss_fn:
        result = run(
            benchmark,
            loss_fn,
            splits,
            seed=seeds.training_seed,
            poison_seed=seeds.poison_seed,
            device=resolve_device("auto"),
            loss_sha256=claimed.sha256,
            on_epoch=on_epoch,
        )
    stored = result.to_dict()
    del stored["poison_seed"]  # secret: the API reads the stored result
    return stored


def _write_patiently(settings: Settings, write: Callable[[Session], T]) -> T:
    """The write in a transaction of its own, tried again while the database cannot be reached (a restart, a
    failover) for up to heartbeat_timeout seconds: the run's progress and result are not thrown away for a
    blip. Longer than that, the reaper may have given the run to another worker, so the attempt gives up."""
    deadline = time.monotonic() + settings.heartbeat_timeout
    while True:
        try:
            with session_scope(settings.sqlalchemy_url) as session:
                return write(session)
        except OperationalError as error:
            if time.monotonic() > deadline:
                raise
            logger.warning("the database is unreachable, writing again in %.0f s: %s", RECONNECT_INTERVAL, error.orig)
            time.sleep(RECONNECT_INTERVAL)


def _store(settings: Settings, claimed: ClaimedRun, result: dict, log_tail: LogTail) -> None:
    stored = _write_patiently(
        settings,
        lambda session: queries.runs.complete_run(session, claimed.run_id, claimed.attempt, result, log_tail.text()),
    )
    metrics = result["metrics"]
    if stored:
        logger.info("run %d succeeded: robust_score %.4f", claimed.run_id, metrics["robust_score"])
    else:
        logger.info(
            "run %d: result discarded, the run was cancelled or given to another worker", claimed.run_id
        )


def _fail(settings: Settings, claimed: ClaimedRun, error: str, log_tail: LogTail) -> None:
    logger.info("run %d failed by its loss: %s", claimed.run_id, error)
    with session_scope(settings.sqlalchemy_url) as session:
        queries.runs.fail_run(
            session,
            claimed.run_id,
            claimed.attempt,
            error,
            FailureCause.LOSS,
            log_tail.text(),
            harness.HARNESS_VERSION,
        )


def _after_infrastructure_failure(
    settings: Settings, claimed: ClaimedRun, error: Exception, log_tail: LogTail
) -> None:
    """Queues the run again while attempts remain (raising RetryLater), else fails it as the service's."""
    reason = f"infrastructure failure on attempt {claimed.attempt}: {type(error).__name__}"
    with session_scope(settings.sqlalchemy_url) as session:
        if claimed.attempt >= settings.max_attempts:
            queries.runs.fail_run(
                session,
                claimed.run_id,
                claimed.attempt,
                f"{reason}; given up after {claimed.attempt} attempts (not counted against you)",
                FailureCause.INFRASTRUCTURE,
                log_tail.text(),
                harness.HARNESS_VERSION,
            )
            return
        requeued = queries.runs.requeue_run(session, claimed.run_id, claimed.attempt, reason)
        if requeued:
            queries.runs.mark_dispatched(session, [claimed.run_id])  # the task's retry sends the message
    if requeued:  # raised after the commit: the worker that picks the message up must find the run queued
        raise RetryLater(reason)
