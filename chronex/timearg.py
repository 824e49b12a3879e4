"""Parsing instants people type: ISO-8601 with an offset, 'HH:MM[:SS[.fff]] Zone' on a given date,
'YYYY-MM-DD HH:MM Zone', or integer nanoseconds since the epoch; dates; zone names.

Every instant a log holds is a signed 64-bit count of nanoseconds (1677-09-21 .. 2262-04-11 UTC),
so an instant or date outside that span is bad input here, named, not an overflow later."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chronex.errors import BadInput
from system.clock import ZONE_NAME, from_datetime, iso

NS_MIN, NS_MAX = -(1 << 63), (1 << 63) - 1
# Whole days inside the span, so any time of day in any zone on them still fits.
DATE_MIN, DATE_MAX = date(1677, 9, 23), date(2262, 4, 9)

_LOCAL = re.compile(
    r"^(?:(?P<date>\d{4}-\d{2}-\d{2})[ T])?"
    r"(?P<time>\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)"
    rf"\s+(?P<zone>{ZONE_NAME})$"
)


_ISO_FRACTION = re.compile(r"^(?P<head>.+?[T ]\d{2}:\d{2}:\d{2})\.(?P<frac>\d+)(?P<tail>.*)$")


def needs_a_day(text: str) -> bool:
    """Whether ``text`` is a time of day with a zone and no date ('09:00 Asia/Tokyo'): the
    caller supplies the day (``parse_instant(on=...)``)."""
    m = _LOCAL.match(text.strip())
    return m is not None and not m["date"]


def parse_instant(text: str, *, on: date | None = None, what: str = "time") -> int:
    """Nanoseconds since the epoch for ``text``. ``on`` supplies the date for 'HH:MM Zone'."""
    t = _parse(text, on, what)
    if not NS_MIN <= t <= NS_MAX:
        raise BadInput(
            f"{what} {text!r} is outside the times a log can hold "
            f"({iso(NS_MIN)[:10]} .. {iso(NS_MAX)[:10]} UTC, 64-bit nanoseconds)"
        )
    return t


def _parse(text: str, on: date | None, what: str) -> int:
    s = text.strip()
    if re.fullmatch(r"-?\d{10,}", s):
        return int(s)
    m = _LOCAL.match(s)
    if m:
        try:
            zone = ZoneInfo(m["zone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise BadInput(f"{what} {text!r}: unknown time zone {m['zone']!r}") from None
        d = date.fromisoformat(m["date"]) if m["date"] else on
        if d is None:
            raise BadInput(f"{what} {text!r}: no date given and none to assume (write YYYY-MM-DD HH:MM Zone)")
        t = _parse_time(m["time"], text, what)
        ns_extra = _frac_ns(m["time"])
        from sim.clock.localtime import LocalTimeError, resolve_local

        try:
            return resolve_local(d, t, zone) + ns_extra
        except LocalTimeError as e:
            raise BadInput(f"{what} {text!r}: {e}") from None
    # datetime keeps microseconds: the fraction is split off and added in nanoseconds, so a
    # valid time pasted from `log show` (9 digits) names that instant, not one up to 999 ns before.
    extra = 0
    f = _ISO_FRACTION.match(s)
    if f:
        if len(f["frac"]) > 9:
            raise BadInput(f"{what} {text!r}: more than 9 fractional digits (nanoseconds are the finest)")
        s, extra = f["head"] + f["tail"], int(f["frac"].ljust(9, "0"))
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(
            f"{what} {text!r} is not a time (use 2027-01-04T10:30:00+09:00 or '10:30 Asia/Tokyo')"
        ) from None
    if dt.tzinfo is None:
        raise BadInput(f"{what} {text!r} has no time zone (add +09:00, Z or a zone name)")
    return from_datetime(dt) + extra


def parse_date(text: str, what: str = "date") -> date:
    try:
        d = date.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(f"{what} {text!r} is not a date (use YYYY-MM-DD)") from None
    if not DATE_MIN <= d <= DATE_MAX:
        raise BadInput(
            f"{what} {text!r} is outside the dates a log can hold ({DATE_MIN} .. {DATE_MAX}: "
            "times are 64-bit nanoseconds)"
        )
    return d


def parse_zone(text: str, what: str = "--tz") -> str:
    """An IANA zone name that exists here (``Asia/Tokyo``, ``UTC``), else bad input naming it."""
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"{what} {text!r} is not a time zone (use a name like Asia/Tokyo or UTC)") from None
    return text


def _parse_time(s: str, text: str, what: str) -> time:
    parts = s.split(".")[0].split(":")
    try:
        h, mi = int(parts[0]), int(parts[1])
        sec = int(parts[2]) if len(parts) > 2 else 0
        return time(h, mi, sec)
    except ValueError:
        raise BadInput(f"{what} {text!r}: {s!r} is not a time of day") from None


def _frac_ns(s: str) -> int:
    if "." not in s:
        return 0
    frac = s.split(".", 1)[1]
    return int(frac.ljust(9, "0")[:9])
