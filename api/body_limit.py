"""Refusing a request body larger than any valid upload, by its declared length or as it streams in (ASGI).

The limit people are told is the file's (settings.max_file_bytes), in one message for both refusals.
"""

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FORM_OVERHEAD = 16 * 1024  # bytes of multipart framing, name and description beside the file
# Closing a socket with unread bytes in its buffer sends a reset, which can reach a client still sending before our
# answer does: Node's fetch and many HTTP libraries send the whole body without waiting for `100 Continue`, and
# lost the 413 to a reset 2 times in 3 at 128 KiB, every time from 2 MiB. So the rest of a body up to this many
# bytes is read and discarded before the answer; past it (an endless or huge body) the answer goes first and the
# connection is closed, which stops a client that reads while it sends.
DRAINED_BYTES = 8 * 2**20
CLOSE_CONNECTION = {"Connection": "close"}


def over_the_limit(max_file_bytes: int) -> str:
    """The 413's detail, whether the file or the whole body was too large."""
    return f"the file is over the {max_file_bytes:,}-byte limit; a loss is one short Python file"


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_file_bytes: int):
        self.app = app
        self.max_bytes = max_file_bytes + FORM_OVERHEAD  # of the body: no valid upload is larger
        self.detail = over_the_limit(max_file_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif (declared := _declared_length(scope)) > self.max_bytes:
            # A client waiting for `100 Continue` has sent nothing yet: reading would ask it for the body.
            if declared <= DRAINED_BYTES and not _expects_continue(scope):
                await _discard_body(receive, 0)
            await self._refuse(send)
        else:
            await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        """`receive` that stops a body without (or lying about) its length once it passes the limit."""
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    if message.get("more_body", False):
                        await _discard_body(receive, received)
                    # FastAPI passes an HTTPException from the body's parser on; the error handler answers it.
                    raise HTTPException(413, self.detail, headers=CLOSE_CONNECTION)
            return message

        return receive_within_limit

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": self.detail}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _discard_body(receive: Receive, received: int) -> None:
    """Reads the rest of the body, `received` bytes of it already read, until it ends or DRAINED_BYTES is passed."""
    while received <= DRAINED_BYTES:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return
        received += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


def _expects_continue(scope: Scope) -> bool:
    return any(name == b"expect" and value.lower() == b"100-continue" for name, value in scope["headers"])
