"""The fixed protocol between the trainer and the loss process: small packed headers on a socket, and the
minibatch and its gradient in two sealed shared-memory buffers set up before the loss process starts.

Per minibatch: the trainer writes the logits and labels into the inputs buffer and sends CALL (step, batch,
classes, epoch); the loss process writes the gradient into the gradient buffer and answers REPLY (status, step,
loss, text length), followed by a UTF-8 message for ERROR. One small message each way and no new file
descriptor; the only tensors made per step are the ones handed over (the loss's own copies of the logits and
labels, the trainer's copy of the gradient). Nothing is pickled or evaluated: the trusted side unpacks fixed-size
headers and copies the gradient out of the buffer into a tensor of its own, of the shape it asked for, before it
checks or uses it.

The loss process can write only its gradient buffer: it maps the inputs buffer read-only from a read-only
descriptor, and that memfd is sealed against any new writable mapping (F_SEAL_FUTURE_WRITE), so neither mprotect
nor reopening it through /proc gives write access. Both memfds are sealed against shrinking, so the trusted
side's mappings can never fault (SIGBUS) whatever the loss process does with its descriptors.
"""

import fcntl
import mmap
import os
import select
import socket
import struct
import time
import warnings
from dataclasses import dataclass
from enum import IntEnum

import torch

LOAD = struct.Struct("<II")  # filename bytes, source bytes; once, before any CALL
CALL = struct.Struct("<QIIq")  # step, batch, classes, epoch
REPLY = struct.Struct("<BQdI")  # status, step it answers (0 before any CALL), loss value, text bytes
MAX_TEXT_BYTES = 4000  # an error message; a longer claimed length is a broken reply
# A turn of a polling loop takes about 1 µs; one this long means another process had the core (BriefPoller).
PREEMPTED_SECONDS = 20e-6

# <linux/fcntl.h>, Linux 5.1: no new write access (write(2), writable shared mmap) to the memfd from anyone, while
# mappings made writable before the seal keep working. Python's fcntl module does not name it.
F_SEAL_FUTURE_WRITE = 0x0010
FIXED_SIZE = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW
INPUTS_SEALS = FIXED_SIZE | F_SEAL_FUTURE_WRITE | fcntl.F_SEAL_SEAL
GRADIENT_SEALS = FIXED_SIZE | fcntl.F_SEAL_SEAL  # the loss process writes it; it must not resize it


class Status(IntEnum):
    STARTED = 1  # Python and torch are up: everything after this is the submission's doing
    READY = 2  # the file is loaded: CALLs may follow
    OK = 3  # a loss value; its gradient is in the gradient buffer
    ERROR = 4  # a message saying how the file broke the contract


@dataclass(frozen=True)
class ExchangeCapacity:
    """The largest minibatch the shared buffers hold: they are sized once, when the loss process starts."""

    batch: int  # samples
    classes: int

    @property
    def logits_bytes(self) -> int:
        return self.batch * self.classes * 4  # float32

    @property
    def labels_offset(self) -> int:
        return -(-self.logits_bytes // 8) * 8  # int64 labels, aligned to their size

    @property
    def inputs_bytes(self) -> int:
        return self.labels_offset + self.batch * 8

    def holds(self, batch: int, classes: int) -> bool:
        return batch <= self.batch and classes <= self.classes


@dataclass(frozen=True)
class SharedBuffers:
    """One side's flat views of the two buffers; a minibatch uses their first batch * classes (or batch) items.

    The views keep their mappings alive: a mapping is unmapped when the last view of it is gone.
    """

    capacity: ExchangeCapacity
    logits: torch.Tensor  # float32 (capacity.batch * capacity.classes,)
    labels: torch.Tensor  # int64 (capacity.batch,)
    gradient: torch.Tensor  # float32 (capacity.batch * capacity.classes,)


def create_shared_buffers(capacity: ExchangeCapacity) -> tuple[SharedBuffers, tuple[int, int]]:
    """The trusted side's buffers, and the two descriptors the loss process maps (inputs read-only, gradient).

    The trusted side maps the inputs writable before sealing them, and the gradient read-only: it never
    writes where the loss process can, and reads only what it copies out. The caller closes the descriptors
    once the loss process has inherited them.
    """
    inputs = _sealable_memfd("poisonbench-loss-inputs", capacity.inputs_bytes)
    gradient = _sealable_memfd("poisonbench-loss-gradient", capacity.logits_bytes)
    try:
        inputs_mapping = mmap.mmap(inputs, capacity.inputs_bytes)
        gradient_mapping = mmap.mmap(gradient, capacity.logits_bytes, prot=mmap.PROT_READ)
        fcntl.fcntl(inputs, fcntl.F_ADD_SEALS, INPUTS_SEALS)
        fcntl.fcntl(gradient, fcntl.F_ADD_SEALS, GRADIENT_SEALS)
        read_only_inputs = os.open(f"/proc/self/fd/{inputs}", os.O_RDONLY | os.O_CLOEXEC)
    except BaseException:
        os.close(gradient)
        raise
    finally:
        os.close(inputs)
    return _views(capacity, inputs_mapping, gradient_mapping), (read_only_inputs, gradient)


def map_shared_buffers(capacity: ExchangeCapacity, inputs: int, gradient: int) -> SharedBuffers:
    """The loss process's buffers, from the descriptors it inherited (closed here: it needs only the mappings)."""
    try:
        inputs_mapping = mmap.mmap(inputs, capacity.inputs_bytes, prot=mmap.PROT_READ)
        gradient_mapping = mmap.mmap(gradient, capacity.logits_bytes)
    finally:
        os.close(inputs)
        os.close(gradient)
    return _views(capacity, inputs_mapping, gradient_mapping)


def _sealable_memfd(name: str, size: int) -> int:
    descriptor = os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.ftruncate(descriptor, size)
    return descriptor


def _views(capacity: ExchangeCapacity, inputs: mmap.mmap, gradient: mmap.mmap) -> SharedBuffers:
    count = capacity.batch * capacity.classes
    with warnings.catch_warnings():  # a read-only mapping is the point: neither side writes through those views
        warnings.filterwarnings("ignore", message="The given buffer is not writable")
        return SharedBuffers(
            capacity,
            logits=torch.frombuffer(inputs, dtype=torch.float32, count=count),
            labels=torch.frombuffer(inputs, dtype=torch.int64, count=capacity.batch, offset=capacity.labels_offset),
            gradient=torch.frombuffer(gradient, dtype=torch.float32, count=count),
        )


def send_all(
    channel: socket.socket, *buffers: bytes | bytearray | memoryview, deadline: float | None = None
) -> None:
    """Send the buffers in order, with as few system calls as the socket allows (one, usually)."""
    views = [view for view in (memoryview(buffer).cast("B") for buffer in buffers) if view.nbytes]
    while views:
        _set_timeout(channel, deadline)
        sent = channel.sendmsg(views)
        while sent:
            taken = min(sent, views[0].nbytes)
            views[0] = views[0][taken:]
            sent -= taken
            if not views[0].nbytes:
                views.pop(0)


def receive_exactly(channel: socket.socket, view: memoryview, deadline: float | None = None) -> None:
    """Fill `view` from the socket; EOFError if the other end closes first, TimeoutError past the deadline."""
    while view.nbytes:
        _set_timeout(channel, deadline)
        received = channel.recv_into(view)
        if not received:
            raise EOFError("the other end of the loss process's socket closed")
        view = view[received:]


def _set_timeout(channel: socket.socket, deadline: float | None) -> None:
    if deadline is None:  # the loss process's own end: it blocks until the trainer speaks
        return
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    channel.settimeout(remaining)


class BriefPoller:
    """Polls a socket for input for a short while before its owner sleeps on it, unless the machine is busy.

    Waking a process that sleeps on a socket costs about half of a round trip between cores, and the work after
    it runs on a core that went idle (docs/performance.md): a side that expects input soon, and whose core has
    nothing else to do meanwhile, polls first. A turn of the loop longer than PREEMPTED_SECONDS means another
    process had the core: polling then takes CPU from the processes it waits for, so the poller stops and skips
    polling for the next 1, 2, 4, ... waits (at most MAX_SKIPPED_WAITS), until a poll runs undisturbed again.
    """

    MAX_SKIPPED_WAITS = 1024

    def __init__(self, readable: select.poll, seconds: float):
        self.readable = readable
        self.seconds = seconds
        self._skipped_after_busy = 0  # waits to skip after the last busy poll; doubled by each busy poll
        self._skips_left = 0

    def poll(self) -> None:
        """Return once there is input, `seconds` have passed, or the core proved busy; never sleep."""
        if self._skips_left:
            self._skips_left -= 1
            return
        now = time.perf_counter()
        until = now + self.seconds
        while not self.readable.poll(0):
            last, now = now, time.perf_counter()
            if now - last > PREEMPTED_SECONDS:
                self._skipped_after_busy = min(2 * self._skipped_after_busy or 1, self.MAX_SKIPPED_WAITS)
                self._skips_left = self._skipped_after_busy
                return
            if now > until:
                break
        self._skipped_after_busy = 0


def send_text(channel: socket.socket, status: Status, step: int = 0, text: str = "") -> None:
    """A reply without a gradient, its text cut to MAX_TEXT_BYTES."""
    raw = text.encode("utf-8", errors="replace")[:MAX_TEXT_BYTES]
    send_all(channel, REPLY.pack(status, step, 0.0, len(raw)), raw)


def printable(raw: bytes) -> str:
    """Untrusted bytes as text safe to store and show: invalid UTF-8 and control characters replaced."""
    text = raw.decode("utf-8", errors="replace")
    return "".join(char if char.isprintable() or char in "\n\t" else "\ufffd" for char in text)
