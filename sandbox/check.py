"""Validating a submission before it is queued: limits, shape, then a dry run in the sandbox, in seconds.

The trusted side drives the dry run through the same protocol as training and judges the replies itself, so a
hostile file cannot report a pass. Run as `python -m sandbox.check FILE --json` (the API imports no torch): it
prints {"ok", "error", "sha256"} and exits 0 with a verdict either way, or 3 when the sandbox could not start
(with {"ok": false, "error", "unavailable": true}). With FILE `-` it first starts the confined loss process,
then waits for the file on stdin: the API keeps such processes warm, so an upload meets a sandbox already up.
"""

import argparse
import hashlib
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from harness.contract import DEFAULT_FILENAME, METHOD_NAME, LossContractError
from harness.loss_file import decode_loss_source
from harness.registry import OFFICIAL_EPOCHS
from sandbox import SandboxUnavailableError
from sandbox.client import LossProcess
from sandbox.config import SandboxConfig

DRY_RUN_CLASSES = (10, 100)  # the official benchmarks' heads: CIFAR-10 and FashionMNIST, CIFAR-100
DRY_RUN_EPOCHS = (0, OFFICIAL_EPOCHS // 2, OFFICIAL_EPOCHS - 1)  # first, middle, last: schedules use epoch
DRY_RUN_BATCH = 128  # the registry's batch size
DRY_RUN_SEED = 0
# The most one dry-run minibatch may take. A run allows 1800 s of loss for all its calls (SandboxConfig.run_timeout):
# over an official ResNet-20 run's 39,100 minibatches that is 46 ms each, so a loss slower than a second per
# minibatch, twenty times that, cannot finish a run; refusing it at once answers the upload in about a second
# instead of after training's 10 s per-call limit. The baselines take 1-5 ms per call.
DRY_RUN_CALL_SECONDS = 1.0
UNAVAILABLE_EXIT_STATUS = 3
FROM_STDIN = "-"


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    error: str | None  # one message saying what is wrong, with the line where there is one
    sha256: str  # of the uploaded bytes: what the service stores for an accepted file (strict UTF-8 round-trips)


def check_in(loss_process: LossProcess, raw: bytes, filename: str) -> CheckResult:
    """The verdict on `raw`, loaded into a started loss process that is used for nothing else afterwards."""
    sha256 = hashlib.sha256(raw).hexdigest()
    try:
        loss_process.load(decode_loss_source(raw, filename), filename)
        dry_run(loss_process)
    except LossContractError as error:
        return CheckResult(ok=False, error=str(error), sha256=sha256)
    return CheckResult(ok=True, error=None, sha256=sha256)


def check_submission(raw: bytes, config: SandboxConfig, filename: str = DEFAULT_FILENAME) -> CheckResult:
    """The verdict on an uploaded file; SandboxUnavailableError if the sandbox cannot start."""
    with LossProcess.start_waiting(config) as loss_process:
        return check_in(loss_process, raw, filename)


def dry_run(loss_process: LossProcess) -> None:
    """compute_loss on random minibatches for each head and schedule phase; every reply must be usable.

    LossProcess.call already demands a finite scalar loss and a finite gradient within the per-call time.
    Here the loss must also depend on the logits: a gradient that is zero everywhere on every input means not.
    """
    generator = torch.Generator().manual_seed(DRY_RUN_SEED)
    gradient_seen = False
    for classes in DRY_RUN_CLASSES:
        for epoch in DRY_RUN_EPOCHS:
            logits = 2.0 * torch.randn(DRY_RUN_BATCH, classes, generator=generator)  # roughly a net's spread
            labels = torch.randint(classes, (DRY_RUN_BATCH,), generator=generator)
            _, gradient = loss_process.call(logits, labels, epoch, time_limit=DRY_RUN_CALL_SECONDS)
            gradient_seen = gradient_seen or bool(gradient.any())
    if not gradient_seen:
        raise LossContractError(
            f"{loss_process.filename}: {METHOD_NAME}'s loss does not depend on the logits: its gradient was "
            "zero on every dry-run minibatch; compute it from `logits` without .detach(), .item() or numpy"
        )


def check_file_or_stdin(loss_file: str, config: SandboxConfig, name_first: bool = False) -> CheckResult:
    """The verdict on FILE (messages cite it as given), or with `-` on stdin's bytes once the sandbox is up.

    With `name_first`, stdin starts with the name to cite the file by, on a line of its own: the API's warm
    processes start before the upload, and so before its name, is known.
    """
    if loss_file != FROM_STDIN:
        return check_submission(Path(loss_file).read_bytes(), config, loss_file)
    with LossProcess.start_waiting(config) as loss_process:
        sent = sys.stdin.buffer.read()
        filename = DEFAULT_FILENAME
        if name_first:
            name, _, sent = sent.partition(b"\n")
            filename = name.decode("utf-8", errors="replace") or DEFAULT_FILENAME
        return check_in(loss_process, sent, filename)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.check", description=__doc__.splitlines()[0])
    parser.add_argument("loss_file", metavar="FILE", help="the loss file, or - to read it from stdin")
    parser.add_argument("--json", action="store_true", required=True, help="print the verdict as JSON")
    parser.add_argument(
        "--name-first", action="store_true", help="with -, stdin's first line is the file's name (the API's pool)"
    )
    args = parser.parse_args(argv)
    try:
        result = check_file_or_stdin(args.loss_file, SandboxConfig(), args.name_first)
    except (SandboxUnavailableError, OSError) as error:
        print(json.dumps({"ok": False, "error": str(error), "unavailable": True}))
        return UNAVAILABLE_EXIT_STATUS
    print(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    # Skip the interpreter's teardown: after importing torch it takes 1.4-2.2 s (measured on 2 busy cores),
    # which the API would wait for, and nothing is left to clean up (the loss process is closed).
    os._exit(status)
