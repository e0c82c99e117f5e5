"""BriefPoller (sandbox/protocol.py): both ends of the exchange poll for a moment before they sleep, and stop
polling while the machine is busy, for longer each time they find it busy."""

import itertools
import select
import socket
import time

import pytest

from sandbox.protocol import BriefPoller

pytestmark = pytest.mark.timeout(60)


class _ReadableOnABusyCore:
    """Stands in for select.poll on a core another process takes: each poll returns after `seconds`, as a turn
    of the loop does when the poller was preempted; it finds input only once `input_after` polls have run."""

    def __init__(self, seconds: float, input_after: int = 10**9):
        self.seconds = seconds
        self.input_after = input_after
        self.polls = 0

    def poll(self, timeout: int) -> list[tuple[int, int]]:
        assert timeout == 0, "a brief poll never sleeps in poll()"
        self.polls += 1
        time.sleep(self.seconds)
        return [(0, select.POLLIN)] if self.polls > self.input_after else []


def _polled_waits(readable: _ReadableOnABusyCore, poller: BriefPoller, waits: int) -> list[int]:
    """The waits (numbered from 1) in which the poller looked at the socket at all."""
    polled = []
    for wait in range(1, waits + 1):
        before = readable.polls
        poller.poll()
        if readable.polls > before:
            polled.append(wait)
    return polled


def test_input_already_there_ends_the_poll_at_once():
    trainer_end, loss_end = socket.socketpair()
    with trainer_end, loss_end:
        readable = select.poll()
        readable.register(trainer_end, select.POLLIN)
        loss_end.send(b"reply")
        began = time.monotonic()
        BriefPoller(readable, seconds=30.0).poll()
        assert time.monotonic() - began < 15.0  # far less than the 30 s it may poll without input


def test_without_input_the_poll_ends_and_leaves_the_sleeping_to_the_caller():
    trainer_end, loss_end = socket.socketpair()
    with trainer_end, loss_end:
        readable = select.poll()
        readable.register(trainer_end, select.POLLIN)
        began = time.monotonic()
        BriefPoller(readable, seconds=0.05).poll()
        assert time.monotonic() - began < 15.0  # a poll that ignored its limit would spin until the test's timeout


def test_a_busy_core_makes_the_poller_skip_1_then_2_then_4_waits():
    readable = _ReadableOnABusyCore(seconds=0.002)
    poller = BriefPoller(readable, seconds=1.0)
    assert _polled_waits(readable, poller, waits=20) == [1, 3, 6, 11, 20]
    assert readable.polls == 5  # one turn each: the first slow turn ends the poll


def test_skipping_stops_growing_at_its_limit():
    readable = _ReadableOnABusyCore(seconds=0.0005)
    poller = BriefPoller(readable, seconds=1.0)
    limit = BriefPoller.MAX_SKIPPED_WAITS
    polled = _polled_waits(readable, poller, waits=4 * limit)
    gaps = [later - earlier for earlier, later in itertools.pairwise(polled)]
    assert max(gaps) == limit + 1
    assert gaps[-2:] == [limit + 1, limit + 1]


def test_an_undisturbed_poll_ends_the_skipping():
    # Busy for the first two polls; from the third on the core is free and the input is there.
    readable = _ReadableOnABusyCore(seconds=0.002, input_after=2)
    poller = BriefPoller(readable, seconds=1.0)
    assert _polled_waits(readable, poller, waits=3) == [1, 3]  # busy, skipped one, busy: skip two next
    assert _polled_waits(readable, poller, waits=2) == []
    readable.seconds = 0.0
    assert _polled_waits(readable, poller, waits=4) == [1, 2, 3, 4]  # found input undisturbed: polls every wait
