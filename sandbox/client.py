"""The trusted end of one loss process: start it, load the file, call compute_loss under time limits, end it.

Every reply is checked here, whatever the loss process claims: the header's fields, that it answers the step
asked and only once, that it left its gradient buffer alone between steps, a finite loss and gradient (on the
trusted copy). A participant's fault raises LossContractError and ends the process; a sandbox that cannot start
raises SandboxUnavailableError.

What a step costs (docs/performance.md): on CPU, the minibatch is copied into the shared inputs buffer, one
header goes each way, and the gradient is copied out once. On CUDA the step synchronises with the device once,
after queueing the logits' and labels' copies into pinned host memory: the loss needs their values, so the
forward pass must have finished. The gradient is copied out into pinned memory, and the proxy's backward sends it
to the device without blocking (sandbox/proxy.py).
"""

import contextlib
import math
import os
import select
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy
import torch

from harness.contract import DEFAULT_FILENAME, METHOD_NAME, LossContractError, non_finite_loss_error
from harness.registry import BENCHMARKS
from sandbox import SandboxUnavailableError, protocol
from sandbox.config import SandboxConfig
from sandbox.launch import SETUP_HINT, LaunchedProcess, launch
from sandbox.protocol import ExchangeCapacity, SharedBuffers, Status
from sandbox.usage import LossProcessUsage

OUTPUT_TAIL_BYTES = 600  # of the loss process's stdout and stderr, quoted when it dies
EXIT_WAIT_SECONDS = 2.0  # for a process that closed its socket to finish dying, before it is killed
# How long a step's caller polls for the reply before it sleeps on the socket. A minibatch's loss takes 30-300 µs
# on a CPU core (docs/performance.md); polling meanwhile saves the wake-up of a sleeping caller, about half of a
# socket round trip between cores (25 µs of 50 measured). A loss slower than this costs the caller this much CPU.
REPLY_POLL_SECONDS = 0.002
# A loss that timed out holding this much more memory than when its file had loaded was taking memory, and the
# message says so: a loss of one minibatch needs megabytes (torch's import alone holds about 300 MB).
MEMORY_NOTED_BYTES = 256 * 2**20
GiB = 2**30
# The shared buffers hold the largest minibatch of any registered benchmark: batch 128 of CIFAR-100's 100 classes.
REGISTRY_CAPACITY = ExchangeCapacity(
    batch=max(benchmark.batch_size for benchmark in BENCHMARKS.values()),
    classes=max(benchmark.num_classes for benchmark in BENCHMARKS.values()),
)

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


# TimeoutError is an OSError: _participant_fault tells them apart in that order.
_EXCHANGE_FAULTS = (OSError, EOFError, _BrokenReplyError, _ReportedError)


@dataclass(frozen=True)
class _MinibatchViews:
    """Views of one minibatch shape: in the shared buffers, and of the trusted copy of the last gradient."""

    logits: torch.Tensor
    labels: torch.Tensor
    gradient: torch.Tensor
    last_gradient: torch.Tensor

    def gradient_unchanged(self) -> bool:
        """The shared gradient still holds, bit for bit, the last copy taken of it.

        numpy compares 128 x 100 float32 in 9 µs where torch.equal takes 34 µs (loaded 2-core machine)."""
        shared, last = self.gradient.numpy().view(numpy.int32), self.last_gradient.numpy().view(numpy.int32)
        return numpy.array_equal(shared, last)


def _all_finite(tensor: torch.Tensor) -> bool:
    """A finite sum proves every element finite (an inf or NaN propagates through additions); only when the sum
    is not, which an overflow of large finite elements can also cause, are the elements themselves examined.
    On 128 x 100 float32 the sum takes 4 µs, torch.isfinite(...).all() 125 µs (loaded 2-core machine)."""
    return math.isfinite(tensor.sum()) or bool(torch.isfinite(tensor).all())


class LossProcess:
    """One confined RobustLoss: `call` sends a minibatch and returns (loss, gradient w.r.t. the logits)."""

    def __init__(self, launched: LaunchedProcess, shared: SharedBuffers, config: SandboxConfig, filename: str):
        self.launched = launched
        self.shared = shared
        self.config = config
        self.filename = filename
        self.loss_seconds = 0.0  # the loss's own time in all calls so far, against config.run_timeout
        self._usage: LossProcessUsage | None = None  # Python's, once it is up
        # Its waits for a core as of the end of the last call or load: between calls it sleeps on its socket, so
        # it waits little then, and what it does wait counts in its favour.
        self._waited_mark = 0.0
        self._resident_before_bytes = 0  # its memory before the file ran, then once it had loaded
        self._reply = bytearray(protocol.REPLY.size)
        self._step = 0
        # The gradient as last copied out: the buffer must still hold it when the next step begins.
        self._last_gradient = torch.empty_like(shared.gradient)
        self._views: dict[tuple[int, int], _MinibatchViews] = {}
        self._last_views: _MinibatchViews | None = None
        self._readable = select.poll()
        self._readable.register(launched.channel, select.POLLIN)
        self._reply_poller = protocol.BriefPoller(self._readable, REPLY_POLL_SECONDS)
        self._closed = False

    @classmethod
    def start(
        cls,
        source: str,
        config: SandboxConfig,
        filename: str = DEFAULT_FILENAME,
        capacity: ExchangeCapacity = REGISTRY_CAPACITY,
    ) -> "LossProcess":
        """Start the loss process and load the file in it; the file's own errors raise LossContractError.

        `capacity` is the largest minibatch it will be called with: its shared buffers are sized for it.
        """
        loss_process = cls.start_waiting(config, capacity)
        try:
            loss_process.load(source, filename)
        except BaseException:
            loss_process.close()
            raise
        return loss_process

    @classmethod
    def start_waiting(cls, config: SandboxConfig, capacity: ExchangeCapacity = REGISTRY_CAPACITY) -> "LossProcess":
        """The slow half of a start, before any file exists: the confined process with Python and torch up.

        Until it has a file only our code ran in it, so any failure here is the machine's (SandboxUnavailableError).
        The upload check keeps such processes warm and loads the file when an upload arrives.
        """
        shared, confined_fds = protocol.create_shared_buffers(capacity)
        try:
            arguments = [*map(str, confined_fds), str(capacity.batch), str(capacity.classes)]
            capability = torch.backends.cpu.get_cpu_capability()  # the trainer's: the loss computes as it would here
            launched = launch(config, capability, inherited_fds=confined_fds, arguments=arguments)
        finally:
            for descriptor in confined_fds:
                os.close(descriptor)
        loss_process = cls(launched, shared, config, DEFAULT_FILENAME)
        try:
            loss_process._wait_until_started()
        except BaseException:
            loss_process.close()
            raise
        return loss_process

    def _wait_until_started(self) -> None:
        """Until STARTED, only our code ran in the sandbox: any failure is the machine's. Its time to start is
        its own, as a call's is: a busy host slows it down without failing it."""
        try:
            self._expect_in_own_time(Status.STARTED, time.monotonic(), self.config.startup_timeout)
            self._watch_usage()  # Python, now that it is up
            self._resident_before_bytes = self._usage.memory().resident_bytes
        except TimeoutError:
            problem = f"Python and torch did not start within {self.config.startup_timeout:g} s of their own time"
        except (OSError, EOFError, _BrokenReplyError, _ReportedError):
            problem = f"the loss process failed before loading the file ({self._death()})"
        else:
            return
        raise SandboxUnavailableError(f"the sandbox could not start: {problem}; {SETUP_HINT}")

    def load(self, source: str, filename: str) -> None:
        """Import the file in the started process, once; from now on messages cite it as `filename`."""
        self.filename = filename
        filename_bytes, source_bytes = filename.encode(), source.encode()
        began, allowed = time.monotonic(), self.config.call_timeout
        self._waited_mark = self._waited()
        timeout = f"importing the file took more than {allowed:g} s"
        with self._participant_faults("while importing the file", timeout):
            header = protocol.LOAD.pack(len(filename_bytes), len(source_bytes))
            protocol.send_all(self.launched.channel, header, filename_bytes, source_bytes, deadline=began + allowed)
            self._expect_in_own_time(Status.READY, began, allowed)
        self._charge(began)
        self._resident_before_bytes = self._usage.memory().resident_bytes

    def call(
        self, logits: torch.Tensor, labels: torch.Tensor, epoch: int, time_limit: float | None = None
    ) -> tuple[float, torch.Tensor]:
        """compute_loss on the minibatch: the loss value and its float32 gradient (B, C), on the host.

        The gradient is a tensor of its own (pinned when the logits are on CUDA), checked finite. The call may
        take `time_limit` seconds of the loss's own time (default: config.call_timeout), and never more than the
        run has left; time the loss process waited for a core is not its own (sandbox/usage.py).
        """
        batch, classes = logits.shape
        views = self._views.get((batch, classes)) or self._make_views(batch, classes)
        limit = self.config.call_timeout if time_limit is None else time_limit
        began = time.monotonic()
        allowed = min(limit, self.config.run_timeout - self.loss_seconds)
        try:
            self._check_quiet_since_last_step()
            self._write_inputs(views, logits.detach(), labels.detach())
            self._step += 1
            request = protocol.CALL.pack(self._step, batch, classes, epoch)
            protocol.send_all(self.launched.channel, request, deadline=began + allowed)
            self._reply_poller.poll()
            value = self._expect_in_own_time(Status.OK, began, allowed)
        except _EXCHANGE_FAULTS as error:  # try/except rather than _participant_faults: 2 µs less per step
            if self.config.run_timeout - self.loss_seconds < limit:
                timeout = f"{METHOD_NAME} used up the whole run's {self.config.run_timeout:g} s at epoch {epoch}"
            else:
                timeout = f"{METHOD_NAME} took more than {limit:g} s on one minibatch at epoch {epoch}"
            raise self._participant_fault(error, f"in {METHOD_NAME} at epoch {epoch}", timeout) from None
        self.loss_seconds += self._charge(began)
        gradient = torch.empty((batch, classes), pin_memory=logits.is_cuda)
        gradient.copy_(views.gradient)
        if not math.isfinite(value):
            raise self._fault(str(non_finite_loss_error(epoch)))
        if not _all_finite(gradient):
            raise self._fault(f"{METHOD_NAME}'s loss has a NaN or infinite gradient at epoch {epoch}")
        views.last_gradient.copy_(gradient)
        self._last_views = views
        return value, gradient

    def _make_views(self, batch: int, classes: int) -> _MinibatchViews:
        """The buffers' views for one minibatch shape; a run has two (full batches and its last one)."""
        capacity = self.shared.capacity
        if not capacity.holds(batch, classes):
            raise ValueError(
                f"a minibatch of {batch} x {classes} logits does not fit the loss process's buffers, sized for "
                f"{capacity}: start it with a larger capacity"
            )
        count = batch * classes
        views = _MinibatchViews(
            logits=self.shared.logits[:count].view(batch, classes),
            labels=self.shared.labels[:batch],
            gradient=self.shared.gradient[:count].view(batch, classes),
            last_gradient=self._last_gradient[:count].view(batch, classes),
        )
        self._views[batch, classes] = views
        return views

    def _write_inputs(self, views: _MinibatchViews, logits: torch.Tensor, labels: torch.Tensor) -> None:
        """The minibatch into the inputs buffer, converted to float32 and int64 on the way."""
        if logits.is_cuda:
            # One synchronisation for both copies: queued into pinned memory, waited for once, then written out.
            staging_logits = torch.empty(views.logits.shape, pin_memory=True)
            staging_labels = torch.empty(views.labels.shape, dtype=torch.int64, pin_memory=True)
            staging_logits.copy_(logits, non_blocking=True)
            staging_labels.copy_(labels, non_blocking=True)
            torch.cuda.current_stream(logits.device).synchronize()
            logits, labels = staging_logits, staging_labels
        views.logits.copy_(logits)
        views.labels.copy_(labels)

    def _check_quiet_since_last_step(self) -> None:
        """Between steps the loss process has nothing to say and nothing to write: it answered only when asked,
        once, and its gradient buffer still holds what was copied out of it."""
        if self._readable.poll(0):
            if not self.launched.channel.recv(1, socket.MSG_PEEK):
                raise EOFError("the loss process closed its socket between steps")
            raise _BrokenReplyError("the loss process broke the sandbox's protocol: it answered when not asked")
        last = self._last_views
        if last is not None and not last.gradient_unchanged():
            raise _BrokenReplyError(
                "the loss process broke the sandbox's protocol: it wrote its gradient buffer between steps"
            )

    def _watch_usage(self) -> None:
        if self._usage is not None:
            self._usage.close()
        self._usage = LossProcessUsage(self.launched.process.pid)

    def _waited(self) -> float:
        if self._usage is None:  # still starting: watch whichever process of its chain is the deepest yet
            self._watch_usage()
        return self._usage.waited_seconds()

    def _own_seconds(self, began: float) -> float:
        """The loss's own time since `began`: the wall clock's, less what its process waited for a core."""
        return time.monotonic() - began - (self._waited() - self._waited_mark)

    def _charge(self, began: float) -> float:
        """The loss's own time since `began`, at the end of a call or load; its waits so far are settled."""
        own = self._own_seconds(began)
        self._waited_mark = self._waited()
        return max(own, 0.0)

    def _expect_in_own_time(self, expected: Status, began: float, allowed: float) -> float:
        """_expect, with its deadline moved out by every second the loss process waited for a core since `began`:
        on a busy host the loss is not charged for the host's work. TimeoutError once `allowed` of its own
        time has passed."""
        deadline = began + allowed
        while True:
            try:
                return self._expect(expected, deadline)
            except TimeoutError:
                own = self._own_seconds(began)
                if own >= allowed:
                    raise
                deadline = time.monotonic() + allowed - own

    def _expect(self, expected: Status, deadline: float) -> float:
        """Read the next reply header; return its loss value if it has the expected status."""
        channel = self.launched.channel
        protocol.receive_exactly(channel, memoryview(self._reply), deadline)
        status, step, value, text_bytes = protocol.REPLY.unpack(self._reply)
        if status == Status.ERROR and text_bytes <= protocol.MAX_TEXT_BYTES:
            text = bytearray(text_bytes)
            protocol.receive_exactly(channel, memoryview(text), deadline)
            raise _ReportedError(protocol.printable(bytes(text)))
        if status != expected or text_bytes or step != self._step:
            raise _BrokenReplyError(
                f"the loss process broke the sandbox's protocol (reply status {status} to step {step} of "
                f"{self._step})"
            )
        return value

    @contextlib.contextmanager
    def _participant_faults(self, activity: str, timeout: str) -> Iterator[None]:
        """Turn what can go wrong on the socket, once the file's code runs, into the participant's fault."""
        try:
            yield
        except _EXCHANGE_FAULTS as error:
            raise self._participant_fault(error, activity, timeout) from None

    def _participant_fault(self, error: Exception, activity: str, timeout: str) -> LossContractError:
        if isinstance(error, TimeoutError):
            return self._fault(timeout + self._memory_taken())
        if isinstance(error, OSError | EOFError):
            return self._fault(f"the loss process died {activity}: {self._death()}")
        return self._fault(str(error), cite_file=not isinstance(error, _ReportedError))

    def _fault(self, cause: str, cite_file: bool = True) -> LossContractError:
        """End the process at once (its socket may be mid-message) and say what the file did."""
        if os.fstat(self.launched.output).st_size >= self.config.output_bytes:
            cause = f"the loss wrote more than its {self.config.output_bytes:,} bytes to stdout/stderr"
            cite_file = True
        self.close()
        return LossContractError(f"{self.filename}: {cause}" if cite_file else cause)

    def _memory_taken(self) -> str:
        """', while taking memory: ...' when the process holds far more than before the file ran or once it had
        loaded; else ''.

        A loss that fills memory may run out of time before it reaches its limit: the message says both."""
        if self._usage is None:
            return ""
        memory = self._usage.memory()
        grown = memory.resident_bytes - self._resident_before_bytes
        if grown < MEMORY_NOTED_BYTES:
            return ""
        return (
            f", while taking memory: it took {grown / GiB:.1f} GiB ({memory.resident_bytes / GiB:.1f} GiB in all; "
            f"the loss process may reserve {self.config.address_space_bytes / GiB:g} GiB of address space)"
        )

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
        if self._usage is not None:
            self._usage.close()
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
