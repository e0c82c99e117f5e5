"""The loss process, run inside the sandbox: loads the submission and serves compute_loss over its socket.

Usage: python -m sandbox.loss_process FD, FD being its end of the socket pair. Everything it sends is checked
again by the trusted side (sandbox/client.py): the submission shares this process and could send anything.
"""

import socket
import sys

import torch

from harness.contract import LossContractError, LossFn, check_loss_value
from harness.loss_file import describe_call_error, load_loss
from sandbox import protocol
from sandbox.protocol import Status


def main(argv: list[str]) -> None:
    channel = socket.socket(fileno=int(argv[1]))
    protocol.send_text(channel, Status.STARTED)
    filename, source = _receive_load(channel)
    try:
        loss_fn = load_loss(source, filename)
    except LossContractError as error:
        protocol.send_text(channel, Status.ERROR, str(error))
        return
    protocol.send_text(channel, Status.READY)
    _serve(channel, loss_fn, filename)


def _receive_load(channel: socket.socket) -> tuple[str, str]:
    header = bytearray(protocol.LOAD.size)
    protocol.receive_exactly(channel, memoryview(header))
    filename_bytes, source_bytes = protocol.LOAD.unpack(header)
    payload = bytearray(filename_bytes + source_bytes)
    protocol.receive_exactly(channel, memoryview(payload))
    return payload[:filename_bytes].decode(), payload[filename_bytes:].decode()


def _serve(channel: socket.socket, loss_fn: LossFn, filename: str) -> None:
    """Answer CALLs until the trainer closes the socket."""
    header = bytearray(protocol.CALL.size)
    while True:
        try:
            protocol.receive_exactly(channel, memoryview(header))
        except EOFError:
            return
        batch, classes, epoch = protocol.CALL.unpack(header)
        logits = torch.empty(batch, classes, dtype=torch.float32)
        labels = torch.empty(batch, dtype=torch.int64)
        protocol.receive_exactly(channel, protocol.tensor_bytes(logits))
        protocol.receive_exactly(channel, protocol.tensor_bytes(labels))
        try:
            value, gradient = _loss_and_gradient(loss_fn, logits, labels, epoch, filename)
        except LossContractError as error:
            protocol.send_text(channel, Status.ERROR, str(error))
            continue
        protocol.send_all(channel, protocol.REPLY.pack(Status.OK, value, 0), protocol.tensor_bytes(gradient))


def _loss_and_gradient(
    loss_fn: LossFn, logits: torch.Tensor, labels: torch.Tensor, epoch: int, filename: str
) -> tuple[float, torch.Tensor]:
    """The in-process computation: loss on a leaf, backward, and the leaf's gradient."""
    logits.requires_grad_()
    loss = loss_fn(logits, labels, epoch)  # raises LossContractError naming the line of a failure
    try:
        check_loss_value(loss, logits)
    except LossContractError as error:
        raise LossContractError(f"{filename}: {error}") from None
    try:
        loss.backward()
        value = float(loss.detach())
    except Exception as error:  # a failing custom backward, or a Tensor subclass of the file's own
        raise LossContractError(describe_call_error(error, filename)) from None
    # A loss that ignores the logits through a path autograd cannot see leaves no gradient: it is zero.
    gradient = logits.grad if logits.grad is not None else torch.zeros_like(logits)
    return value, gradient.detach().to(torch.float32).contiguous()


if __name__ == "__main__":
    main(sys.argv)
