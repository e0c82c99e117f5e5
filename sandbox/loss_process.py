"""The loss process, run inside the sandbox: loads the submission and serves compute_loss over its socket.

Usage: python -m sandbox.loss_process SOCKET_FD INPUTS_FD GRADIENT_FD BATCH CLASSES: its end of the socket pair,
the shared buffers' descriptors and their capacity (sandbox/protocol.py). Everything it sends is checked again by
the trusted side (sandbox/client.py): the submission shares this process and could send or write anything.
"""

import select
import socket
import sys
import time

import torch

from harness.contract import CLASS_NAME, METHOD_NAME, LossContractError, LossFn, check_loss_value
from harness.loss_file import describe_call_error, load_loss
from sandbox import protocol
from sandbox.process_settings import ProcessSettings, fix_process_settings
from sandbox.protocol import ExchangeCapacity, SharedBuffers, Status

# While the calls come at most this far apart, the process polls for the next one before it sleeps: woken from
# sleep, it answers later and computes the loss up to 2x more slowly on a core that went idle (docs/performance.md).
# This covers a GPU-trained step (2-4 ms, when the host's cores wait for the device); a CPU-trained step is longer
# (15 ms in the smoke suite, 75 ms in the proxy suite), and there the last wait says so and the process sleeps at
# once, leaving the cores to the model. It never polls more than this per call, and not while the machine is busy.
CALL_POLL_SECONDS = 0.005


def main(argv: list[str]) -> None:
    channel = socket.socket(fileno=int(argv[1]))
    capacity = ExchangeCapacity(batch=int(argv[4]), classes=int(argv[5]))
    shared = protocol.map_shared_buffers(capacity, inputs=int(argv[2]), gradient=int(argv[3]))
    settings = fix_process_settings()  # before any of the file's code: it could not start kernels the same way
    protocol.send_text(channel, Status.STARTED)
    filename, source = _receive_load(channel)
    try:
        loss_fn = load_loss(source, filename)
        _check_unchanged(settings, f"{filename}: importing the file or {CLASS_NAME}()")
    except LossContractError as error:
        protocol.send_text(channel, Status.ERROR, text=str(error))
        return
    protocol.send_text(channel, Status.READY)
    _serve(channel, loss_fn, filename, shared, settings)


def _check_unchanged(settings: ProcessSettings, culprit: str) -> None:
    """LossContractError if the file changed a setting the loss's kernels read: it would compute other numbers."""
    changes = settings.changes_to(ProcessSettings.read())
    if changes:
        raise LossContractError(
            f"{culprit} changed torch's process-wide settings ({changes}); the sandbox fixes them, so that every "
            "loss computes as it would in the trainer: leave them as they are"
        )


def _receive_load(channel: socket.socket) -> tuple[str, str]:
    header = bytearray(protocol.LOAD.size)
    protocol.receive_exactly(channel, memoryview(header))
    filename_bytes, source_bytes = protocol.LOAD.unpack(header)
    payload = bytearray(filename_bytes + source_bytes)
    protocol.receive_exactly(channel, memoryview(payload))
    return payload[:filename_bytes].decode(), payload[filename_bytes:].decode()


def _serve(
    channel: socket.socket, loss_fn: LossFn, filename: str, shared: SharedBuffers, settings: ProcessSettings
) -> None:
    """Answer CALLs until the trainer closes the socket; the settings must be the same after every call."""
    header = bytearray(protocol.CALL.size)
    header_view = memoryview(header)
    readable = select.poll()
    readable.register(channel, select.POLLIN)
    call_poller = protocol.BriefPoller(readable, CALL_POLL_SECONDS)
    last_wait = float("inf")  # seconds from the last reply to the next CALL
    while True:
        replied = time.perf_counter()
        if last_wait <= CALL_POLL_SECONDS:
            call_poller.poll()
        try:
            protocol.receive_exactly(channel, header_view)
        except EOFError:
            return
        last_wait = time.perf_counter() - replied
        step, batch, classes, epoch = protocol.CALL.unpack(header)
        count = batch * classes
        # Copies of the loss's own, as the trainer's tensors would be: it may keep them or change them in place.
        logits = shared.logits[:count].view(batch, classes).clone()
        labels = shared.labels[:batch].clone()
        gradient = shared.gradient[:count].view(batch, classes)
        try:
            value = _loss_and_gradient(loss_fn, logits, labels, epoch, filename, gradient)
            # 4 µs a call (2-core machine); a CPU-trained smoke step takes 15 ms.
            _check_unchanged(settings, f"{filename}: {METHOD_NAME} at epoch {epoch}")
        except LossContractError as error:
            protocol.send_text(channel, Status.ERROR, step, str(error))
            continue
        protocol.send_all(channel, protocol.REPLY.pack(Status.OK, step, value, 0))


def _loss_and_gradient(
    loss_fn: LossFn, logits: torch.Tensor, labels: torch.Tensor, epoch: int, filename: str, gradient: torch.Tensor
) -> float:
    """The in-process computation: loss on a leaf, backward; the leaf's gradient is written into `gradient`."""
    logits.requires_grad_()
    loss = loss_fn(logits, labels, epoch)  # raises LossContractError naming the line of a failure
    try:
        check_loss_value(loss, logits)
    except LossContractError as error:
        raise LossContractError(f"{filename}: {error}") from None
    try:
        loss.backward()
        value = loss.item()
        # A loss that ignores the logits through a path autograd cannot see leaves no gradient: it is zero.
        if logits.grad is None:
            gradient.zero_()
        else:
            gradient.copy_(logits.grad)
    except Exception as error:  # a failing custom backward, or a Tensor subclass of the file's own
        raise LossContractError(describe_call_error(error, filename)) from None
    return value


if __name__ == "__main__":
    main(sys.argv)
