"""Wall-clock times to instants, refusing the two readings a daylight saving change makes silent.

``datetime.combine(d, t, tzinfo=zone)`` reads a time the clocks skipped (02:30 on the spring-forward
night in New York) as some other instant, and a time they pass twice (01:30 on the fall-back night)
as the first of the two. Both are wrong more often than right in a test or an audit, so
``resolve_local`` raises instead, saying what the clocks did; an ISO time with an offset picks one
reading of an ambiguous time.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sim.clock.calendar import CalendarError
from system.clock import from_datetime


class LocalTimeError(CalendarError):
    """A wall-clock time that names no instant, or two."""


class NonexistentLocalTime(LocalTimeError):
    """The clocks skipped this time (spring forward)."""


class AmbiguousLocalTime(LocalTimeError):
    """The clocks showed this time twice (fall back)."""


def _offset(d: timedelta | None) -> str:
    total = int((d or timedelta(0)).total_seconds()) // 60
    sign = "+" if total >= 0 else "-"
    return f"{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"


def resolve_local(d: date, t: time, tz: ZoneInfo) -> int:
    """ns UTC of ``t`` on ``d`` in ``tz``; raises ``NonexistentLocalTime`` or ``AmbiguousLocalTime``."""
    # A time that carries fold=1 must not pick the second reading unasked: compare both folds.
    first = datetime.combine(d, t.replace(fold=0), tzinfo=tz)
    second = first.replace(fold=1)
    o1, o2 = first.utcoffset(), second.utcoffset()
    if o1 == o2:
        return from_datetime(first)
    stamp = f"{d.isoformat()} {t.strftime('%H:%M:%S' if t.second else '%H:%M')}"
    if o1 is not None and o2 is not None and o1 < o2:
        jump = o2 - o1
        raise NonexistentLocalTime(
            f"{stamp} does not exist in {tz.key}: the clocks went forward {_hm(jump)} that night "
            f"(UTC{_offset(o1)} to UTC{_offset(o2)}), so that time was skipped; "
            "pick a time outside the gap"
        )
    raise AmbiguousLocalTime(
        f"{stamp} happens twice in {tz.key}: the clocks went back that night (UTC{_offset(o1)} to "
        f"UTC{_offset(o2)}); say which with an offset: {d.isoformat()}T{t.isoformat()}{_offset(o1)} "
        f"({first.tzname()}) or {d.isoformat()}T{t.isoformat()}{_offset(o2)} ({second.tzname()})"
    )


def _hm(delta: timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"by {hours} hour{'s' if hours != 1 else ''}"
    return f"by {minutes} minutes"
