"""A running run's heartbeat: a thread stamping the run every few seconds, noticing when it is taken away."""

import logging
import threading
from types import TracebackType

from db import queries
from db.session import session_scope

logger = logging.getLogger(__name__)


class Heartbeat:
    """While the block runs, stamps `heartbeat_at` every `interval` seconds, whatever phase training is in.

    `lost` is set once the database refuses a stamp: the run was cancelled or requeued by the reaper, and this
    attempt must stop without storing anything.
    """

    def __init__(self, database_url: str, run_id: int, attempt: int, interval: float):
        self.database_url = database_url
        self.run_id = run_id
        self.attempt = attempt
        self.interval = interval
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-run-{run_id}", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                with session_scope(self.database_url) as session:
                    owned = queries.runs.record_heartbeat(session, self.run_id, self.attempt)
            except Exception:  # a database hiccup: the next beat tries again; the reaper waits several beats
                logger.warning("run %d: heartbeat not written", self.run_id, exc_info=True)
                continue
            if not owned:
                logger.info("run %d: attempt %d no longer owns the run; stopping", self.run_id, self.attempt)
                self.lost.set()
                return
