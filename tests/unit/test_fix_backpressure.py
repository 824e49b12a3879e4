"""A FIX connection stops reading while whatever executes its messages is overloaded, and reads
again once that has drained: a client that sends faster than the system executes is held back by
TCP instead of growing the server's queue."""

from __future__ import annotations

from collections.abc import Callable

from system.gateways.fix.testkit import FakeTransport
from system.gateways.fix.transport import FixConnection


class _Pausable(FakeTransport):
    def __init__(self) -> None:
        super().__init__()
        self.reading = True

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True


class _Throttle:
    def __init__(self) -> None:
        self.busy = False
        self.waiting: list[Callable[[], None]] = []

    def overloaded(self) -> bool:
        return self.busy

    def when_drained(self, resume: Callable[[], None]) -> None:
        self.waiting.append(resume)


def test_reading_pauses_while_overloaded_and_resumes_when_drained() -> None:
    """After a read that leaves the throttle overloaded the transport is paused once; the
    throttle's callback resumes it; a read while not overloaded changes nothing."""
    throttle = _Throttle()
    conn = FixConnection(binder=lambda raw, c: None, throttle=throttle)
    t = _Pausable()
    conn.connection_made(t)
    conn.data_received(b"8=FI")  # half a frame: nothing bound, nothing closed
    assert t.reading and not throttle.waiting
    throttle.busy = True
    conn.data_received(b"X")
    conn.data_received(b".4")  # already paused: not registered twice
    assert not t.reading and len(throttle.waiting) == 1
    throttle.busy = False
    throttle.waiting.pop()()
    assert t.reading
