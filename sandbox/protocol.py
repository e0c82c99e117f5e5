"""The fixed binary protocol between the trainer and the loss process: packed headers and raw tensor bytes.

One round trip per minibatch. The trainer sends CALL (batch, classes, epoch), then the float32 logits and the
int64 labels; the loss process answers REPLY (status, loss, text length), then either the float32 gradient
(OK) or a UTF-8 message (ERROR). Nothing is pickled or evaluated: the trusted side unpacks fixed-size headers
and copies raw bytes into tensors it allocated itself, their sizes known before the reply arrives.
"""

import socket
import struct
import time
from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the protocol itself needs no torch
    from torch import Tensor

LOAD = struct.Struct("<II")  # filename bytes, source bytes; once, before any CALL
CALL = struct.Struct("<IIq")  # batch, classes, epoch
REPLY = struct.Struct("<BdI")  # status, loss value, text bytes
MAX_TEXT_BYTES = 4000  # an error message; a longer claimed length is a broken reply


class Status(IntEnum):
    STARTED = 1  # Python and torch are up: everything after this is the submission's doing
    READY = 2  # the file is loaded: CALLs may follow
    OK = 3  # a loss value and its gradient
    ERROR = 4  # a message saying how the file broke the contract


def tensor_bytes(tensor: "Tensor") -> memoryview:
    """The raw bytes of a contiguous CPU tensor, without a copy."""
    return memoryview(tensor.numpy()).cast("B")


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
    if deadline is None:
        channel.settimeout(None)
        return
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    channel.settimeout(remaining)


def send_text(channel: socket.socket, status: Status, text: str = "") -> None:
    """A reply without a gradient, its text cut to MAX_TEXT_BYTES."""
    raw = text.encode("utf-8", errors="replace")[:MAX_TEXT_BYTES]
    send_all(channel, REPLY.pack(status, 0.0, len(raw)), raw)


def printable(raw: bytes) -> str:
    """Untrusted bytes as text safe to store and show: invalid UTF-8 and control characters replaced."""
    text = raw.decode("utf-8", errors="replace")
    return "".join(char if char.isprintable() or char in "\n\t" else "\ufffd" for char in text)
