"""Time travel: while a scenario runs on a ``VirtualClock``, code that reads the wall clock sees the
virtual time instead, and asyncio sleeps advance the virtual clock rather than wait.

Chronex code takes its time from the injected clock; this is the safety net for code that does not
(third-party libraries, the system under test). ``travel(clock)`` patches the process's wall-clock
readers (datetime's now/utcnow, date's today, the time module's time/time_ns/localtime/gmtime,
and pandas' Timestamp.now which goes through them) and keeps them equal to ``clock.now_ns()``
every time the clock moves. time-machine is the default backend (cheap to enter, asyncio-safe);
freezegun is supported for suites that already use it. See docs/time-travel.md for the measurements.

``run_virtual(coro, clock)`` runs a coroutine on ``VirtualEventLoop``, whose time is the virtual
clock's: ``await asyncio.sleep(3600)`` returns at once with the clock one hour later.
"""

from __future__ import annotations

import asyncio
import math
import selectors
from collections.abc import Coroutine, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal, TypeVar

from sim.clock.virtual import VirtualClock
from system.clock import NS_PER_SECOND, to_datetime

Backend = Literal["time-machine", "freezegun"]
T = TypeVar("T")


@contextmanager
def travel(clock: VirtualClock, *, backend: Backend = "time-machine") -> Iterator[VirtualClock]:
    """Make the process's wall-clock readers follow ``clock`` inside the block (not ticking)."""
    start = to_datetime(clock.now_ns())
    active = True
    mover: Any
    if backend == "time-machine":
        import time_machine

        traveller: Any = time_machine.travel(start, tick=False)
        mover = traveller.start()
    elif backend == "freezegun":
        import freezegun

        # real_asyncio: without it freezegun freezes the loop's monotonic clock and sleeps hang.
        traveller = freezegun.freeze_time(start, tick=False, real_asyncio=True)
        mover = traveller.start()
    else:
        raise ValueError(f"unknown time-travel backend {backend!r} (time-machine or freezegun)")

    def follow(t_ns: int) -> None:
        if active:  # the clock keeps its listeners; this one goes quiet when the block ends
            mover.move_to(to_datetime(t_ns))

    clock.on_change(follow)
    try:
        yield clock
    finally:
        active = False
        traveller.stop()


class _VirtualSelector(selectors.BaseSelector):
    """A selector that never waits on wall time: when the loop would sleep until its next timer,
    it advances the virtual clock by that much instead (running the clock's own timers)."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._real = selectors.DefaultSelector()

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:  # nothing scheduled: only I/O or another thread can wake the loop
            return self._real.select(None)
        self._clock.advance(max(1, math.ceil(timeout * NS_PER_SECOND)))
        return []

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()


class VirtualEventLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose ``time()`` is the virtual clock's; idle waits advance the clock."""

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__(selector=_VirtualSelector(clock))
        self.virtual_clock = clock
        # Loop time is a float of seconds (about 0.24 us apart in this century); a 1 ns resolution
        # would leave a timer due "now" unfired forever, so timers fire within 1 us of their time.
        self._clock_resolution = 1e-6

    def time(self) -> float:
        return self.virtual_clock.now_ns() / NS_PER_SECOND


def run_virtual(coro: Coroutine[Any, Any, T], clock: VirtualClock) -> T:
    """Run ``coro`` to completion on a ``VirtualEventLoop`` over ``clock``."""
    loop = VirtualEventLoop(clock)
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()
