"""Refusing a multipart body that ends before its closing boundary: a truncated upload is a 400, not a missing
field (ASGI).

Starlette's parser keeps the parts that were complete and drops the rest without a word, so a body cut off in
the file's part would otherwise be answered 422 "file: Field required", as if the file had not been sent.
"""

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPART = b"multipart/form-data"
# The body's last bytes, kept to find the closing boundary in: an epilogue after it (allowed, never sent by curl,
# browsers or HTTP libraries) may be this long.
TAIL_BYTES = 1024
TRUNCATED = "the multipart body ends before its closing boundary: the upload was cut off; send it again"


class MultipartFraming:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        boundary = _boundary(scope) if scope["type"] == "http" else None
        await self.app(scope, _checking_the_end(receive, boundary) if boundary else receive, send)


def _boundary(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"content-type" and value.lower().startswith(MULTIPART):
            for parameter in value.split(b";")[1:]:
                key, _, boundary = parameter.strip().partition(b"=")
                if key.lower() == b"boundary" and boundary:
                    return boundary.strip(b'"')
    return None


def _checking_the_end(receive: Receive, boundary: bytes) -> Receive:
    """`receive` that raises 400 when the body's last message arrives without the closing boundary before it."""
    closing = b"--" + boundary + b"--"
    tail = b""

    async def receive_checked() -> Message:
        nonlocal tail
        message = await receive()
        if message["type"] == "http.request":
            tail = (tail + message.get("body", b""))[-(TAIL_BYTES + len(closing)) :]
            if not message.get("more_body", False) and closing not in tail:
                # FastAPI passes an HTTPException from the body's parser on; the error handler answers it.
                raise HTTPException(400, TRUNCATED)
        return message

    return receive_checked
