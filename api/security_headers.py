"""The security headers every answer carries: a same-origin Content-Security-Policy, no framing, no sniffing."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The pages load only their own scripts, styles and images from /static: no inline script, no other origin.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# FastAPI's /docs and /redoc load Swagger UI and ReDoc from a CDN and start them with an inline script; they
# show the API's own schema and nothing a participant wrote.
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_POLICY = (
    f"default-src 'self'; script-src 'self' 'unsafe-inline' {DOCS_CDN}; "
    f"style-src 'self' 'unsafe-inline' {DOCS_CDN} https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; "
    f"img-src 'self' data: https://fastapi.tiangolo.com {DOCS_CDN}; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")

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
        policy = DOCS_POLICY if scope["path"] in DOCS_PATHS else PAGE_POLICY
        added = [(name.lower().encode(), value.encode()) for name, value in self.headers.items()]
        added.append((b"content-security-policy", policy.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *added]
            await send(message)

        await self.app(scope, receive, send_with_headers)
