"""Faults of every mock, scheduled in virtual time on the one clock the mocks share.

```toml
[[fault]]
kind = "reject"                         # see KINDS
mock = "exchange"                       # which mock (default: every mock that knows the kind)
link = "EXCH->HEDGER"                   # optional: one link (a FIX session, a client)
from = "2031-01-06T09:00:00+09:00"      # active from this instant (default: always)
until = "2031-01-06T09:05:00+09:00"     # ... until this one, exclusive (default: for ever)
latency_ms = 250                        # latency: hold each outbound message this long
fill_ratio = 0.5                        # partial_fill: the share of liquidity left
per_second = 5                          # throttle: messages accepted per virtual second
vol_multiplier = 5                      # fast_market: fair-value volatility multiplied
```

A fault is a window ``[from, until)`` of the shared clock. Each mock asks ``active(mock, kind)``
when it handles traffic, so the same schedule on the same clock fires the same faults whatever
the wall clock does. ``disconnect`` is an instant: the mock drops its links once when the clock
passes ``from``. Every fault that acts is noted in ``fired`` (for tests and the mock's status).
Which mock honours which kind is in docs/mocks.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mocks.base import MockError
from mocks.profile import Fields, read_toml
from system.clock import NS_PER_MS, NS_PER_SECOND, Clock

__all__ = ["KINDS", "FaultSchedule", "MockFault", "load_schedule", "parse_schedule"]

KINDS = (
    "latency",  # outbound messages held latency_ms of virtual time
    "reject",  # new orders refused
    "partial_fill",  # liquidity thinned to fill_ratio
    "stale_quote",  # quotes stop updating (a market maker keeps its last prices)
    "crossed_quote",  # a market maker quotes bid above ask
    "disconnect",  # links dropped once at `from`
    "outage",  # links dropped and refused for the whole window
    "throttle",  # at most per_second messages per virtual second; the rest refused
    "fast_market",  # the fair value market makers follow moves vol_multiplier times faster
)
_KEYS = {"kind", "mock", "link", "from", "until", "latency_ms", "fill_ratio", "per_second", "vol_multiplier"}


@dataclass(frozen=True, slots=True)
class MockFault:
    kind: str
    mock: str | None = None
    link: str | None = None
    start_ns: int | None = None
    end_ns: int | None = None
    latency_ns: int = 0
    fill_ratio: float = 1.0
    per_second: int = 0
    vol_multiplier: float = 1.0

    def covers(self, t: int) -> bool:
        return (self.start_ns is None or t >= self.start_ns) and (self.end_ns is None or t < self.end_ns)

    def applies(self, mock: str, link: str | None) -> bool:
        return (self.mock is None or self.mock == mock) and (
            self.link is None or link is None or self.link == link
        )


class FaultSchedule:
    """The faults of a run of mocks, judged against ``clock`` (the mocks' shared clock)."""

    def __init__(self, faults: Iterable[MockFault], clock: Clock) -> None:
        self.faults = tuple(faults)
        self.clock = clock
        self.fired: list[str] = []
        self._done: set[int] = set()  # disconnects already fired
        self._window: dict[tuple[int, str], tuple[int, int]] = {}  # throttle: (second, count)

    def active(self, mock: str, kind: str, link: str | None = None) -> MockFault | None:
        """The first fault of ``kind`` for ``mock`` (and ``link``) covering the clock's now."""
        now = self.clock.now_ns()
        for f in self.faults:
            if f.kind == kind and f.applies(mock, link) and f.covers(now):
                return f
        return None

    def note(self, mock: str, what: str) -> None:
        self.fired.append(f"{self.clock.now_ns()} {mock}: {what}")

    def due_disconnects(self, mock: str) -> list[MockFault]:
        """Disconnects for ``mock`` whose instant has passed and that have not fired yet (each
        fires once)."""
        now = self.clock.now_ns()
        due = []
        for i, f in enumerate(self.faults):
            if f.kind != "disconnect" or i in self._done or not f.applies(mock, None):
                continue
            if f.start_ns is None or now >= f.start_ns:
                self._done.add(i)
                due.append(f)
        return due

    def throttled(self, mock: str, link: str) -> bool:
        """Count one message on ``link``; True when a throttle fault is active and the link has
        used its ``per_second`` for this virtual second."""
        f = self.active(mock, "throttle", link)
        if f is None:
            return False
        second = self.clock.now_ns() // NS_PER_SECOND
        key = (id(f), link)
        sec, n = self._window.get(key, (second, 0))
        if sec != second:
            sec, n = second, 0
        n += 1
        self._window[key] = (sec, n)
        return n > f.per_second


def parse_schedule(data: dict[str, Any], clock: Clock, source: str = "faults") -> FaultSchedule:
    """A schedule from a parsed TOML (``[[fault]]`` tables); ``MockError`` names the bad field."""
    faults = []
    for f in Fields(data, source).tables("fault"):
        f.unknown(_KEYS)
        kind = f.text("kind", "")
        if kind not in KINDS:
            raise MockError(f"{f.where}.kind: {kind!r} is not one of {', '.join(KINDS)}")
        start, end = f.instant("from"), f.instant("until")
        if start is not None and end is not None and end <= start:
            raise MockError(f"{f.where}.until: must be after from")
        fault = MockFault(
            kind=kind,
            mock=f.text("mock") if "mock" in f.t else None,
            link=f.text("link") if "link" in f.t else None,
            start_ns=start,
            end_ns=end,
            latency_ns=round(f.number("latency_ms", 0, low=0, high=3_600_000) * NS_PER_MS),
            fill_ratio=f.number("fill_ratio", 1.0, low=0.0, high=1.0),
            per_second=f.integer("per_second", 0, low=0),
            vol_multiplier=f.number("vol_multiplier", 1.0, low=0.0, high=1000.0),
        )
        if kind == "latency" and fault.latency_ns <= 0:
            raise MockError(f"{f.where}.latency_ms: a latency fault needs latency_ms > 0")
        if kind == "throttle" and fault.per_second <= 0:
            raise MockError(f"{f.where}.per_second: a throttle fault needs per_second > 0")
        faults.append(fault)
    return FaultSchedule(faults, clock)


def load_schedule(path: Path, clock: Clock) -> FaultSchedule:
    return parse_schedule(read_toml(path, "--faults"), clock, str(path))
