"""Validating an upload with the sandbox's `check` as a subprocess: the API process never imports torch."""

import json
import logging
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    error: str  # what is wrong with the file, in the checker's words; empty when ok


class CheckUnavailableError(Exception):
    """The sandbox could not start or answer: the service's fault, not the upload's."""


class LossChecker(Protocol):
    def __call__(self, code: str, filename: str) -> Verdict:
        """The verdict on `code`, whose messages cite it as `filename` (a plain file name, no folder)."""


@dataclass(frozen=True)
class SandboxCheck:
    """`python -m sandbox.check FILE --json`: exit 0 with a verdict either way; else unavailable."""

    timeout: float  # seconds
    idle: bool = False  # run the check under SCHED_IDLE: the API that waits for it keeps the CPU first

    def __call__(self, code: str, filename: str) -> Verdict:
        with tempfile.TemporaryDirectory(prefix="poisonbench-check-") as folder:
            path = Path(folder) / filename  # the check cites the file by its name
            path.write_text(code, encoding="utf-8")
            command = [sys.executable, "-m", "sandbox.check", str(path), "--json"]
            if self.idle:
                command = ["chrt", "--idle", "0", *command]  # util-linux
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=self.timeout)
            except subprocess.TimeoutExpired:
                raise CheckUnavailableError(
                    f"validation did not finish within {self.timeout:.0f} s"
                ) from None
        if done.returncode != 0:
            logger.error("sandbox check exited %d: %s", done.returncode, done.stderr[-2000:])
            raise CheckUnavailableError("the sandbox could not start")
        try:
            answer = json.loads(done.stdout)
            return Verdict(ok=bool(answer["ok"]), error=str(answer.get("error") or ""))
        except (ValueError, KeyError, TypeError):
            logger.error("sandbox check printed no verdict: %r", done.stdout[-2000:])
            raise CheckUnavailableError("the sandbox gave no verdict") from None
