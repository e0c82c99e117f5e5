"""The last lines a run logged, kept in memory while it trains and stored with its outcome."""

import collections
import logging
from collections.abc import Iterator
from contextlib import contextmanager

TAIL_LINES = 200  # enough for a failure's traceback and the last epochs


class LogTail(logging.Handler):
    def __init__(self, lines: int = TAIL_LINES):
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.records: collections.deque[str] = collections.deque(maxlen=lines)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))

    def text(self) -> str:
        return "\n".join(self.records)


@contextmanager
def capture_log_tail() -> Iterator[LogTail]:
    """Every log record of the process while the block runs (one run per worker process at a time)."""
    tail = LogTail()
    root = logging.getLogger()
    root.addHandler(tail)
    try:
        yield tail
    finally:
        root.removeHandler(tail)
