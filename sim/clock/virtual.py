"""The virtual clock: time that moves only when told, with scheduled callbacks and simpy on top.

Ordering key of everything scheduled is explicit: ``(time, priority, sequence)``. Clock callbacks
run before simpy events due at the same instant (phase changes before agents react to them), and
nothing ever depends on object identity or hash order.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import simpy

from system.clock import NS_PER_SECOND

_NORMAL = simpy.events.NORMAL
_new_timeout = object.__new__


class ClockError(Exception):
    """A request the clock refuses (for example, moving backwards within one timeline)."""


@dataclass(order=True, slots=True)
class Timer:
    """A scheduled callback. Cancelling marks it; the heap drops it when it reaches the top."""

    time: int
    priority: int
    sequence: int
    callback: Callable[[], Any] = field(compare=False)
    label: str = field(default="", compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class ClockedEnvironment(simpy.Environment):
    """A simpy Environment whose time is the virtual clock's, in integer nanoseconds."""

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__(initial_time=clock.now_ns())
        self.clock = clock

    def _jump(self, t: int) -> None:
        # simpy keeps its time in _now; moving it forward with the clock keeps new timeouts
        # relative to the clock's time, not to the last simpy event.
        self._now = t

    def timeout(self, delay: Any = 0, value: Any = None) -> simpy.Timeout:
        """``simpy.Timeout(self, delay, value)`` built inline: the same object and the same queue
        entry ``(now + delay, NORMAL, next id, event)``, without two Python calls per timeout
        (agents of a simulated day wait on a timeout before every decision)."""
        if delay < 0:
            raise ValueError(f"Negative delay {delay}")
        t = _new_timeout(simpy.Timeout)
        t.env = self
        t.callbacks = []
        t._value = value
        t._delay = delay
        t._ok = True
        heapq.heappush(self._queue, (self._now + delay, _NORMAL, next(self._eid), t))
        return t

    def seconds(self, s: float) -> int:
        return round(s * NS_PER_SECOND)


class VirtualClock:
    """A controllable clock for one timeline.

    ``set`` may jump anywhere only while nothing is scheduled (starting a scenario, time travel
    before a run); afterwards time only moves forward through ``advance`` and ``run_until``.
    """

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns
        self._heap: list[Timer] = []
        self._seq = 0
        self._env: ClockedEnvironment | None = None
        self._listeners: list[Callable[[int], None]] = []

    # -- reading ---------------------------------------------------------------------------------
    def now_ns(self) -> int:
        return self._now

    @property
    def env(self) -> ClockedEnvironment:
        """The simpy Environment running on this clock (created on first use)."""
        if self._env is None:
            self._env = ClockedEnvironment(self)
        return self._env

    def on_change(self, fn: Callable[[int], None]) -> None:
        """Call ``fn(now)`` whenever the clock's time changes (time patchers listen here)."""
        self._listeners.append(fn)

    # -- moving ----------------------------------------------------------------------------------
    def set(self, t_ns: int) -> None:
        """Jump to ``t_ns``: forward runs what is due on the way; back only when nothing is pending."""
        if t_ns >= self._now:
            self.run_until(t_ns)
            return
        sim_pending = self._env is not None and self._env.peek() != simpy.core.Infinity
        if self.pending() or sim_pending:
            raise ClockError(
                f"cannot move the clock back from {self._now} to {t_ns} while timers are pending"
            )
        self._set_now(t_ns)
        if self._env is not None:
            self._env._jump(t_ns)

    def advance(self, delta_ns: int) -> None:
        if delta_ns < 0:
            raise ClockError(f"cannot advance by a negative duration ({delta_ns} ns)")
        self.run_until(self._now + delta_ns)

    def run_until(self, t_ns: int) -> None:
        """Fire every timer and simpy event due at or before ``t_ns`` in order, then stop at ``t_ns``."""
        if t_ns < self._now:
            raise ClockError(f"cannot run back from {self._now} to {t_ns}")
        env = self._env
        heap = self._heap
        pop = heapq.heappop
        queue: list[Any] = env._queue if env is not None else []
        step = env.step if env is not None else None
        while True:
            while heap and heap[0].cancelled:
                pop(heap)
            nxt = heap[0].time if heap else None
            if queue:
                # simpy's next event, read from its queue (what env.peek() returns), and stepped
                # in a tight loop while no timer is due first: most of a day's events are agents'.
                sim_t = queue[0][0]
                if (nxt is None or nxt > sim_t) and sim_t <= t_ns:
                    assert env is not None and step is not None
                    listeners = self._listeners
                    while True:
                        if sim_t != self._now:  # self._set_now(int(sim_t)), inlined
                            t = self._now = int(sim_t)
                            if t > env._now:
                                env._now = t
                            for fn in listeners:
                                fn(t)
                        step()
                        if not queue:
                            break
                        sim_t = queue[0][0]
                        # The step may have scheduled (or cancelled) timers: look at the heap again.
                        if sim_t > t_ns or (heap and heap[0].time <= sim_t):
                            break
                    continue
            else:
                sim_t = simpy.core.Infinity
            if nxt is None or nxt > sim_t or nxt > t_ns:
                break
            timer = pop(heap)
            self._set_now(timer.time)
            timer.callback()
        self._set_now(t_ns)

    def run(self) -> None:
        """Run until nothing is scheduled."""
        while True:
            nxt = self._next_timer_time()
            sim_t = self._env.peek() if self._env is not None else simpy.core.Infinity
            cands = [t for t in (nxt, sim_t) if t is not None and t != simpy.core.Infinity]
            if not cands:
                return
            self.run_until(int(min(cands)))

    def _set_now(self, t: int) -> None:
        if t != self._now:
            self._now = t
            if self._env is not None and t > self._env.now:
                self._env._jump(t)
            for fn in self._listeners:
                fn(t)

    # -- scheduling ------------------------------------------------------------------------------
    def call_at(
        self, t_ns: int, callback: Callable[[], Any], *, priority: int = 0, label: str = ""
    ) -> Timer:
        """Run ``callback`` when the clock reaches ``t_ns``. Lower priority runs first on ties,
        then the order of scheduling."""
        if t_ns < self._now:
            raise ClockError(f"cannot schedule {label or 'a timer'} in the past ({t_ns} < {self._now})")
        self._seq += 1
        timer = Timer(t_ns, priority, self._seq, callback, label)
        heapq.heappush(self._heap, timer)
        return timer

    def call_later(
        self, delay_ns: int, callback: Callable[[], Any], *, priority: int = 0, label: str = ""
    ) -> Timer:
        return self.call_at(self._now + delay_ns, callback, priority=priority, label=label)

    def pending(self) -> list[Timer]:
        """Live timers in firing order."""
        return sorted(t for t in self._heap if not t.cancelled)

    def _next_timer_time(self) -> int | None:
        heap = self._heap
        while heap and heap[0].cancelled:
            heapq.heappop(heap)
        return heap[0].time if heap else None
