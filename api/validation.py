"""Validating an upload in the sandbox's `check`, out of process (the API never imports torch), from a warm pool.

A check's cost is starting Python and torch twice, once on each side of the sandbox (about 3 s of CPU and more of
wall time, docs/performance.md "Upload check latency"); the dry run itself takes a fraction of a second. So the
pool starts `python -m sandbox.check - --json` processes ahead of the uploads: each imports torch, starts its
confined loss process, and blocks reading a file from stdin. An upload takes the oldest, writes the file, reads
the verdict; the process exits and a new one starts in its place at once, to warm up while nobody waits.
"""

import atexit
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

logger = logging.getLogger(__name__)

# The file arrives on stdin after its name's line: the process is started before anyone knows the name.
CHECK_COMMAND = (sys.executable, "-m", "sandbox.check", "-", "--json", "--name-first")


@dataclass(frozen=True)
class Verdict:
    ok: bool
    error: str  # what is wrong with the file, in the checker's words; empty when ok


class CheckUnavailableError(Exception):
    """The sandbox could not start or answer: the service's fault, not the upload's."""


class LossChecker(Protocol):
    def __call__(self, code: str, filename: str) -> Verdict:
        """The verdict on `code`, whose messages cite it as `filename` (a plain file name, no folder)."""


class CheckPool:
    """`size` check processes kept warm; each one checks one upload and is replaced as it is taken.

    They run at `niceness` (docs/security.md, "The upload check"): below the API, above the workers' training,
    so a check never waits behind a run, and a warming process does not delay the API's pages much.
    """

    def __init__(self, size: int, timeout: float, niceness: int):
        self.size = size
        self.timeout = timeout  # seconds from sending the file to the verdict, a start included if none is warm
        self.niceness = niceness
        self._warm: deque[subprocess.Popen] = deque()
        self._lock = threading.Lock()  # sync routes run on a thread pool: uploads arrive concurrently

    def fill(self) -> None:
        """Start processes until `size` are warm or warming; cheap for the caller (the children do the work)."""
        with self._lock:
            while len(self._warm) < self.size:
                self._warm.append(self._start())

    def __call__(self, code: str, filename: str) -> Verdict:
        with self._lock:
            process = self._warm.popleft() if self._warm else self._start()
        self.fill()  # the replacement warms up while this process checks
        try:
            sent = f"{filename}\n{code}".encode()
            stdout, stderr = process.communicate(sent, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill(process)
            raise CheckUnavailableError(f"validation did not finish within {self.timeout:g} s") from None
        return verdict_from(process.returncode, stdout, stderr)

    def close(self) -> None:
        with self._lock:
            while self._warm:
                _kill(self._warm.popleft())

    def _start(self) -> subprocess.Popen:
        return subprocess.Popen(
            ["nice", "-n", str(self.niceness), *CHECK_COMMAND],  # coreutils; relative to the API's own
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # a signal meant for the API (Ctrl-C) does not reach a warm check
        )


def verdict_from(returncode: int, stdout: bytes, stderr: bytes) -> Verdict:
    """sandbox.check's answer: exit 0 with a JSON verdict either way; anything else is unavailability."""
    if returncode != 0:
        logger.error("sandbox check exited %d: %s %s", returncode, stdout[-2000:], stderr[-2000:])
        raise CheckUnavailableError("the sandbox could not start")
    try:
        answer = json.loads(stdout)
        return Verdict(ok=bool(answer["ok"]), error=str(answer.get("error") or ""))
    except (ValueError, KeyError, TypeError):
        logger.error("sandbox check printed no verdict: %r", stdout[-2000:])
        raise CheckUnavailableError("the sandbox gave no verdict") from None


def _kill(process: subprocess.Popen) -> None:
    """The check process's group; its confined loss process dies with it (bubblewrap's --die-with-parent)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


@lru_cache
def shared_check_pool(size: int, timeout: float, niceness: int) -> CheckPool:
    """One pool per API process, whatever the number of apps built in it (the tests build one per test)."""
    pool = CheckPool(size, timeout, niceness)
    atexit.register(pool.close)  # warm processes would otherwise finish warming up for nothing
    return pool
