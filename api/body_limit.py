"""Refusing a request body larger than any valid upload, by its declared length or as it streams in (ASGI).

The limit people are told is the file's (settings.max_file_bytes), in one message for both refusals.
"""

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FORM_OVERHEAD = 16 * 1024  # bytes of multipart framing, name and description beside the file
# The client may still be sending: closing the connection after the 413 stops it, where keep-alive would make
# the server read (and discard) the rest of the body.
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
        elif self._declared_length(scope) > self.max_bytes:
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
                    # FastAPI passes an HTTPException from the body's parser on; the error handler answers it.
                    raise HTTPException(413, self.detail, headers=CLOSE_CONNECTION)
            return message

        return receive_within_limit

    async def _refuse(self, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps({"detail": self.detail}).encode()})

    @staticmethod
    def _declared_length(scope: Scope) -> int:
        for name, value in scope["headers"]:
            if name == b"content-length":
                return int(value) if value.isdigit() else 0
        return 0
