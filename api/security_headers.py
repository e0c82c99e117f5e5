"""The security headers every answer carries: a same-origin Content-Security-Policy, no framing, no sniffing."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The pages, /docs included, load only their own scripts, styles and images from /static: no inline script, no
# other origin.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SecurityHeaders:
    def __init__(self, app: ASGIApp, hsts_max_age: int):
        self.app = app
        self.headers = dict(COMMON_HEADERS)
        if hsts_max_age:  # only over HTTPS: a browser would otherwise refuse the plain-HTTP service afterwards
            self.headers["Strict-Transport-Security"] = f"max-age={hsts_max_age}; includeSubDomains"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = [(name.lower().encode(), value.encode()) for name, value in self.headers.items()]
        added.append((b"content-security-policy", PAGE_POLICY.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *added]
            await send(message)

        await self.app(scope, receive, send_with_headers)
