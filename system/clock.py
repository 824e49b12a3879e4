"""The Clock port. Time is an input: nothing in Chronex reads the wall clock except ``WallClock``.

Times inside are ``int`` nanoseconds since the Unix epoch, UTC. Zone-aware helpers convert at the edges.
The virtual clock that drives simulations lives in ``sim.clock``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

NS_PER_SECOND = 1_000_000_000
# An IANA zone name as people type it after a time ('10:30 Asia/Tokyo', 'EST5EDT', 'Etc/GMT+5'):
# one pattern for the CLI's times and the steps' times.
ZONE_NAME = r"[A-Za-z_][A-Za-z_0-9+\-]*(?:/[A-Za-z_+\-0-9]+)*"
NS_PER_MS = 1_000_000
NS_PER_US = 1_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@runtime_checkable
class Clock(Protocol):
    """A source of the current time.

    ``now_ns()`` never decreases within one timeline. Implementations that wait (the wall clock)
    block; virtual ones return at once.
    """

    def now_ns(self) -> int: ...


class WallClock:
    """Real time, for live runs against real peers. The only reader of the host clock."""

    def __init__(self) -> None:
        self._last: int = 0

    def now_ns(self) -> int:
        # time_ns can step backwards when NTP corrects; the log must not, so hold the maximum.
        t = time.time_ns()
        if t < self._last:
            return self._last
        self._last = t
        return t

    def sleep_until(self, t_ns: int) -> None:
        delay = (t_ns - time.time_ns()) / NS_PER_SECOND
        if delay > 0:
            time.sleep(delay)


class FixedClock:
    """A clock that says what it is told: for tests and for re-stamping recorded inputs."""

    def __init__(self, t_ns: int = 0) -> None:
        self.t = t_ns

    def now_ns(self) -> int:
        return self.t


def to_datetime(t_ns: int, tz: str | ZoneInfo | None = None) -> datetime:
    """An aware datetime for ``t_ns`` (UTC unless a zone is given). Sub-microsecond digits drop."""
    # timedelta arithmetic, not float seconds, so no rounding error creeps in.
    dt = _EPOCH + timedelta(microseconds=t_ns // NS_PER_US)
    if tz is not None:
        dt = dt.astimezone(ZoneInfo(tz) if isinstance(tz, str) else tz)
    return dt


def from_datetime(dt: datetime) -> int:
    """Nanoseconds since the epoch for an aware datetime (naive datetimes are refused)."""
    if dt.tzinfo is None:
        raise ValueError(f"naive datetime {dt.isoformat()} has no time zone")
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * NS_PER_SECOND + delta.microseconds * NS_PER_US


def iso(t_ns: int, tz: str | None = None) -> str:
    """ISO-8601 with nanoseconds, for people and reports."""
    dt = to_datetime(t_ns, tz)
    frac = t_ns % NS_PER_SECOND
    base = dt.replace(microsecond=0).isoformat()
    if frac:
        return f"{base[:19]}.{frac:09d}{base[19:]}"
    return base
