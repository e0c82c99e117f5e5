"""What a running loss process costs, as the host's kernel counts it: the time it waited for a core that others held,
and its memory. Read from the host's /proc by the trusted side, so that the loss is charged for its own time only.

A process's run delay (the second field of /proc/PID/schedstat, in ns) is the time it was ready to run but every
core was taken: on a busy host it grows while the loss waits, and it is the host's doing, not the loss's. A loss
that sleeps or computes is charged; a loss that starves its own computing thread with threads of its own spends
its CPU-time limit (RLIMIT_CPU counts every thread) instead.
"""

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

NANOSECONDS = 1e9
KiB = 1024


@dataclass(frozen=True)
class Memory:
    resident_bytes: int  # VmRSS: what it holds of the host's memory
    peak_address_space_bytes: int  # VmPeak: the most it reserved, against RLIMIT_AS


class LossProcessUsage:
    """The confined Python process of one loss, watched from the host; with /proc unreadable, it reports that the
    process never waited and holds nothing, and limits are then charged on the wall clock as they were before."""

    def __init__(self, launched_pid: int):
        self.pid = _deepest_descendant(launched_pid)  # under bubblewrap: prlimit's bwrap, its init, then Python
        self._schedstat: int | None = None
        with contextlib.suppress(OSError):
            self._schedstat = os.open(f"/proc/{self.pid}/schedstat", os.O_RDONLY | os.O_CLOEXEC)

    def waited_seconds(self) -> float:
        """How long its main thread (which runs compute_loss) has waited for a core since it started; 1.9 µs."""
        if self._schedstat is None:
            return 0.0
        try:
            return int(os.pread(self._schedstat, 64, 0).split()[1]) / NANOSECONDS
        except (OSError, IndexError, ValueError):  # it has ended
            return 0.0

    def memory(self) -> Memory:
        fields = {}
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                name, _, value = line.partition(":")
                if value.strip().endswith(" kB"):
                    fields[name] = int(value.split()[0]) * KiB
        return Memory(fields.get("VmRSS", 0), fields.get("VmPeak", 0))

    def close(self) -> None:
        if self._schedstat is not None:
            os.close(self._schedstat)
            self._schedstat = None


def _deepest_descendant(pid: int) -> int:
    """Follow first children down (the loss process may not fork: seccomp), as far as /proc shows them."""
    while True:
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:  # ended, or a kernel without CONFIG_PROC_CHILDREN
            return pid
        if not children:
            return pid
        pid = int(children[0])
