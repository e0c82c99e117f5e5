"""Slowing token guessing: too many failed token checks from one client address answer 429 for a while.

The state is a dictionary in the API process: the embedded default runs without Redis, and one process serves
the API (`poisonbench serve`, or one uvicorn per container). With several API processes each counts on its own,
so an address gets at most `allowed` x processes tries per window. Behind a reverse proxy, run uvicorn with
`--proxy-headers --forwarded-allow-ips=<proxy>` so the address is the client's, not the proxy's.
"""

import math
import threading
import time
from collections import deque

from api.errors import ApiError

SWEEP_ABOVE = 10_000  # tracked addresses before the ones whose failures have all expired are dropped


class AuthFailureLimiter:
    def __init__(self, allowed: int, window: float):
        self.allowed = allowed  # failures per address within the window
        self.window = window  # seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()  # FastAPI runs sync dependencies in a thread pool

    def refuse_if_blocked(self, address: str) -> None:
        """Raises a 429 while `address` has used up its failures; checked before its token is looked at."""
        with self._lock:
            failures = self._prune(self._failures.get(address, deque()), time.monotonic())
            if len(failures) < self.allowed:
                return
            wait = max(1, math.ceil(failures[-self.allowed] + self.window - time.monotonic()))
        raise ApiError(
            429,
            f"too many failed token checks from your address; wait {wait} s, then send a valid token "
            "(an administrator can rotate a lost one)",
            headers={"Retry-After": str(wait)},
        )

    def record_failure(self, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._prune(self._failures.setdefault(address, deque()), now).append(now)
            if len(self._failures) > SWEEP_ABOVE:
                for stale in [a for a, failures in self._failures.items() if not self._prune(failures, now)]:
                    del self._failures[stale]

    def _prune(self, failures: deque[float], now: float) -> deque[float]:
        """The failures still inside the window, oldest first (the expired ones are dropped in place)."""
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures
