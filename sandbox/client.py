"""The trusted end of one loss process: start it, load the file, call compute_loss under time limits, end it.

Every reply is checked here, whatever the loss process claims: the header's fields, the sizes (known before
the reply arrives), a finite loss and gradient. A participant's fault raises LossContractError and ends the
process; a sandbox that cannot start raises SandboxUnavailableError.
"""

import contextlib
import math
import os
import signal
import subprocess
import time
from collections.abc import Iterator

import torch

from harness.contract import METHOD_NAME, LossContractError, non_finite_loss_error
from sandbox import SandboxUnavailableError, protocol
from sandbox.config import SandboxConfig
from sandbox.launch import SETUP_HINT, LaunchedProcess, launch
from sandbox.protocol import Status

DEFAULT_FILENAME = "custom_robust_loss.py"  # the name messages cite for an upload
OUTPUT_TAIL_BYTES = 600  # of the loss process's stdout and stderr, quoted when it dies
EXIT_WAIT_SECONDS = 2.0  # for a process that closed its socket to finish dying, before it is killed

# How a loss process ends by a signal, in words; bubblewrap reports the signal as exit status 128 + N.
SIGNAL_CAUSES = {
    signal.SIGXCPU: "it used up its CPU-time limit",
    signal.SIGSYS: "it made a system call the sandbox forbids",
}


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class _BrokenReplyError(Exception):
    """A reply no honest loss process sends: only the submission, writing to the socket itself, can."""


class _ReportedError(Exception):
    """The loss process reported the file's own error: untrusted text, already made printable."""


class LossProcess:
    """One confined RobustLoss: `call` sends a minibatch and returns (loss, gradient w.r.t. the logits)."""

    def __init__(self, launched: LaunchedProcess, config: SandboxConfig, filename: str):
        self.launched = launched
        self.config = config
        self.filename = filename
        self.loss_seconds = 0.0  # all calls so far, against config.run_timeout
        self._reply = bytearray(protocol.REPLY.size)
        self._closed = False

    @classmethod
    def start(cls, source: str, config: SandboxConfig, filename: str = DEFAULT_FILENAME) -> "LossProcess":
        """Start the loss process and load the file in it; the file's own errors raise LossContractError."""
        loss_process = cls(launch(config), config, filename)
        try:
            loss_process._wait_until_started()
            loss_process._load(source)
        except BaseException:
            loss_process.close()
            raise
        return loss_process

    def _wait_until_started(self) -> None:
        """Until STARTED, only our code ran in the sandbox: any failure is the machine's."""
        try:
            self._expect(Status.STARTED, time.monotonic() + self.config.startup_timeout)
        except TimeoutError:
            problem = f"Python and torch did not start within {self.config.startup_timeout:g} s"
        except (OSError, EOFError, _BrokenReplyError, _ReportedError):
            problem = f"the loss process failed before loading the file ({self._death()})"
        else:
            return
        raise SandboxUnavailableError(f"the sandbox could not start: {problem}; {SETUP_HINT}")

    def _load(self, source: str) -> None:
        filename, source_bytes = self.filename.encode(), source.encode()
        deadline = time.monotonic() + self.config.call_timeout
        timeout = f"importing the file took more than {self.config.call_timeout:g} s"
        with self._participant_faults("while importing the file", timeout):
            header = protocol.LOAD.pack(len(filename), len(source_bytes))
            protocol.send_all(self.launched.channel, header, filename, source_bytes, deadline=deadline)
            self._expect(Status.READY, deadline)

    def call(self, logits: torch.Tensor, labels: torch.Tensor, epoch: int) -> tuple[float, torch.Tensor]:
        """compute_loss on CPU copies of the minibatch: the loss value and its float32 gradient (B, C)."""
        logits = logits.detach().to("cpu", torch.float32).contiguous()
        labels = labels.detach().to("cpu", torch.int64).contiguous()
        batch, classes = logits.shape
        gradient = torch.empty(batch, classes, dtype=torch.float32)
        began = time.monotonic()
        budget = self.config.run_timeout - self.loss_seconds
        limit = min(self.config.call_timeout, budget)
        deadline = began + limit
        if budget < self.config.call_timeout:
            timeout = f"{METHOD_NAME} used up the whole run's {self.config.run_timeout:g} s at epoch {epoch}"
        else:
            timeout = f"{METHOD_NAME} took more than {limit:g} s on one minibatch at epoch {epoch}"
        with self._participant_faults(f"in {METHOD_NAME} at epoch {epoch}", timeout):
            request = protocol.CALL.pack(batch, classes, epoch)
            logits_bytes, labels_bytes = protocol.tensor_bytes(logits), protocol.tensor_bytes(labels)
            protocol.send_all(self.launched.channel, request, logits_bytes, labels_bytes, deadline=deadline)
            value = self._expect(Status.OK, deadline)
            protocol.receive_exactly(self.launched.channel, protocol.tensor_bytes(gradient), deadline)
        self.loss_seconds += time.monotonic() - began
        if not math.isfinite(value):
            raise self._fault(str(non_finite_loss_error(epoch)))
        if not torch.isfinite(gradient).all():
            raise self._fault(f"{METHOD_NAME}'s loss has a NaN or infinite gradient at epoch {epoch}")
        return value, gradient

    def _expect(self, expected: Status, deadline: float) -> float:
        """Read the next reply header; return its loss value if it has the expected status."""
        channel = self.launched.channel
        protocol.receive_exactly(channel, memoryview(self._reply), deadline)
        status, value, text_bytes = protocol.REPLY.unpack(self._reply)
        if status == Status.ERROR and text_bytes <= protocol.MAX_TEXT_BYTES:
            text = bytearray(text_bytes)
            protocol.receive_exactly(channel, memoryview(text), deadline)
            raise _ReportedError(protocol.printable(bytes(text)))
        if status != expected or text_bytes:
            raise _BrokenReplyError(f"the loss process broke the sandbox's protocol (reply status {status})")
        return value

    @contextlib.contextmanager
    def _participant_faults(self, activity: str, timeout: str) -> Iterator[None]:
        """Turn what can go wrong on the socket, once the file's code runs, into the participant's fault."""
        try:
            yield
        except TimeoutError:
            raise self._fault(timeout) from None
        except (OSError, EOFError):
            raise self._fault(f"the loss process died {activity}: {self._death()}") from None
        except _BrokenReplyError as error:
            raise self._fault(str(error)) from None
        except _ReportedError as error:
            raise self._fault(str(error), cite_file=False) from None

    def _fault(self, cause: str, cite_file: bool = True) -> LossContractError:
        """End the process at once (its socket may be mid-message) and say what the file did."""
        if os.fstat(self.launched.output).st_size >= self.config.max_file_bytes:
            cause = f"the loss wrote more than its {self.config.max_file_bytes:,} bytes to stdout/stderr"
            cite_file = True
        self.close()
        return LossContractError(f"{self.filename}: {cause}" if cite_file else cause)

    def _death(self) -> str:
        """Why the process ended, with the tail of what it printed."""
        try:
            status = self.launched.process.wait(EXIT_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            return "it closed its socket"
        signal_number = -status if status < 0 else status - 128 if status > 128 else 0
        if signal_number:
            cause = SIGNAL_CAUSES.get(signal_number) or f"it was killed by {_signal_name(signal_number)}"
        else:
            cause = f"it exited with status {status}"
        size = os.fstat(self.launched.output).st_size
        tail = os.pread(self.launched.output, OUTPUT_TAIL_BYTES, max(0, size - OUTPUT_TAIL_BYTES))
        printed = protocol.printable(tail).strip()
        return f"{cause}; its last output: {printed}" if printed else cause

    def close(self) -> None:
        """Kill the loss process's whole tree: its process group, and with bubblewrap its pid namespace."""
        if self._closed:
            return
        self._closed = True
        process = self.launched.process
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self.launched.channel.close()
        os.close(self.launched.output)

    def __enter__(self) -> "LossProcess":
        return self

    def __exit__(self, *exception: object) -> None:
        self.close()
