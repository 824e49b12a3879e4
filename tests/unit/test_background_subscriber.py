"""A service subscriber on its own thread (system/server/background.py): it catches up from its
own stored position, takes the sequencer's batches without blocking it, keeps them while its
service is down, and applies every entry exactly once in order."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from system.clock import FixedClock
from system.eventlog import Event, EventStore, LoggedEvent, NewEvent, open_log
from system.server.background import Background
from system.server.subscription import Subscription


class BgTicked(Event, frozen=True):
    n: int

    def stream(self) -> str:
        return "bg-test"


def _append(store: EventStore, n: int) -> list[LoggedEvent]:
    return store.append([NewEvent(BgTicked(i), i) for i in range(n)])


class Flaky:
    """Applies batches, failing while ``down`` is set (a service that does not answer)."""

    name = "flaky"

    def __init__(self, start: int = 0) -> None:
        self._pos = start
        self.seen: list[int] = []
        self.down = threading.Event()
        self.failures = 0

    def position(self) -> int:
        return self._pos

    def handle(self, batch: Sequence[LoggedEvent]) -> None:
        if self.down.is_set():
            self.failures += 1
            raise ConnectionError("service down")
        self.seen.extend(ev.seq for ev in batch)
        self._pos = batch[-1].seq


def _until(cond: object, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():  # type: ignore[operator]
            return
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


def test_catches_up_from_its_position_then_follows_and_survives_an_outage() -> None:
    store = open_log("memory://", FixedClock(1))
    _append(store, 30)
    inner = Flaky(start=10)  # it had stored position 10 before a restart
    bg = Background(inner, lambda: store, store.head().seq, retry_s=0.05)
    sub = Subscription(store, bg)
    _until(lambda: inner.position() == 30)
    assert inner.seen == list(range(11, 31))
    inner.down.set()
    for _ in range(5):
        sub.deliver(_append(store, 10))  # the sequencer is never held up by the outage
    assert bg.position() == 80
    _until(lambda: inner.failures >= 2 and bg.error is not None and "service down" in bg.error)
    assert bg.lag(store.head().seq) == 50
    inner.down.clear()
    _until(lambda: inner.position() == 80)
    assert inner.seen == list(range(11, 81)), "an entry was missed or applied twice"
    _until(lambda: bg.error is None and bg.lag(80) == 0)
    bg.close()


def test_close_delivers_what_is_queued() -> None:
    store = open_log("memory://", FixedClock(1))
    inner = Flaky()
    bg = Background(inner, lambda: store, 0)
    sub = Subscription(store, bg)
    for _ in range(20):
        sub.deliver(_append(store, 50))
    bg.close()
    assert inner.seen == list(range(1, 1001))
