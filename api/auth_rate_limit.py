"""Slowing token guessing: too many failed token checks from one client address answer 429 for a while.

Failures are counted in a moving window by the `limits` library, in this process's memory: the embedded default
runs without Redis, and one process serves the API (`poisonbench serve`, or one uvicorn per container). With
several API processes each counts on its own, so an address gets at most `allowed` x processes tries per window.
Only failures are counted (`hit` on a failed check, `test` before every check), which is why this is `limits`
itself rather than a per-route request limiter such as slowapi. Behind a reverse proxy, run uvicorn with
`--proxy-headers --forwarded-allow-ips=<proxy>` so the address is the client's, not the proxy's.
"""

import math
import time

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from api.errors import ApiError

NAMESPACE = "auth-failures"


class AuthFailureLimiter:
    def __init__(self, allowed: int, window: int):
        self._limit = RateLimitItemPerSecond(allowed, window)  # `allowed` failures per `window` seconds
        # The memory storage drops an address once its failures have expired, so the table does not grow.
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def refuse_if_blocked(self, address: str) -> None:
        """Raises a 429 while `address` has used up its failures; checked before its token is looked at."""
        if self._limiter.test(self._limit, NAMESPACE, address):
            return
        reset_at = self._limiter.get_window_stats(self._limit, NAMESPACE, address).reset_time
        wait = max(1, math.ceil(reset_at - time.time()))
        raise ApiError(
            429,
            f"too many failed token checks from your address; wait {wait} s, then send a valid token "
            "(an administrator can rotate a lost one)",
            headers={"Retry-After": str(wait)},
        )

    def record_failure(self, address: str) -> None:
        self._limiter.hit(self._limit, NAMESPACE, address)
