"""Refusing a request body larger than any valid upload before it is read (an ASGI middleware)."""

import json

from starlette.types import ASGIApp, Receive, Scope, Send

FORM_OVERHEAD = 16 * 1024  # bytes of multipart framing, name and description beside the file


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._declared_length(scope) > self.max_bytes:
            detail = f"the request body is over {self.max_bytes:,} bytes; a loss is one short Python file"
            body = json.dumps({"detail": detail}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 413,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _declared_length(scope: Scope) -> int:
        for name, value in scope["headers"]:
            if name == b"content-length":
                return int(value) if value.isdigit() else 0
        return 0
