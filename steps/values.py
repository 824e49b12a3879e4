"""Values at the edge: what a scenario writes (decimals, times, names) into what the system takes
(ints in instrument units, ns, enums), each with an error naming the bad value."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from steps.errors import StepInputError
from system.clock import NS_PER_SECOND, ZONE_NAME, from_datetime, to_datetime
from system.engine import (
    Instrument,
    OrderType,
    Phase,
    SelfTradePrevention,
    Side,
    TimeInForce,
    price_to_decimal,
    price_to_int,
    qty_to_decimal,
    qty_to_int,
)

# How people write amounts: an optional sign and currency symbol, digits with thousands separators
# in groups of three (or underscores), an optional fraction and exponent. '1,5' is refused: it is a
# decimal comma to some readers and fifteen to others.
_AMOUNT = re.compile(
    r"^(?P<sign>[-+]?)\s*(?P<sym>[¥$€£])?\s*(?P<int>\d{1,3}(?:,\d{3})+|\d+(?:_\d+)*)?"
    r"(?P<frac>\.\d+(?:_\d+)*)?(?P<exp>[eE][-+]?\d+)?$"
)


def amount(text: str) -> Decimal | None:
    """The number in an amount as written ('1,000,000', '1e6', '¥1,000,000', '-2,500.5'), or None
    when it is not one or is ambiguous."""
    m = _AMOUNT.match(text.strip())
    if m is None or not (m["int"] or m["frac"]):
        return None
    body = (m["int"] or "0").replace(",", "").replace("_", "") + (m["frac"] or "").replace("_", "")
    try:
        d = Decimal(m["sign"] + body + (m["exp"] or ""))
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def decimal(text: str, what: str = "number", where: str = "") -> Decimal:
    at = f" for {where}" if where else ""
    d = amount(text)
    if d is None:
        hint = " (thousands separators go in groups of three: 1,000,000)" if "," in text else ""
        raise StepInputError(f"{what} {text!r} is not a number{at}{hint}")
    return d


def integer(text: str, what: str = "number") -> int:
    d = amount(text)
    if d is None or d != d.to_integral_value():
        raise StepInputError(f"{what} {text!r} is not a whole number")
    return int(d)


def price(inst: Instrument, text: str) -> int:
    try:
        return price_to_int(inst, decimal(text, "price", inst.id))
    except ValueError as e:
        raise StepInputError(str(e)) from None


def raw_price(inst: Instrument, text: str) -> int:
    """A price that need not be on the tick (to test the engine's own OFF_TICK rejection)."""
    d = decimal(text, "price", inst.id)
    units = d / Decimal(inst.price_increment)
    if units != units.to_integral_value():
        raise StepInputError(
            f"price {text} is not a multiple of the increment {inst.price_increment} of {inst.id}"
        )
    return int(units)


def qty(inst: Instrument, text: str) -> int:
    try:
        return qty_to_int(inst, decimal(text, "quantity", inst.id))
    except ValueError as e:
        raise StepInputError(str(e)) from None


def raw_qty(inst: Instrument, text: str) -> int:
    """A quantity that need not be a whole lot (to test the engine's own OFF_LOT rejection)."""
    d = decimal(text, "quantity", inst.id)
    units = d / Decimal(inst.qty_increment)
    if units != units.to_integral_value():
        raise StepInputError(
            f"quantity {text} is not a multiple of the increment {inst.qty_increment} of {inst.id}"
        )
    return int(units)


def fmt_price(inst: Instrument | None, p: int | None) -> str:
    if p is None:
        return ""
    return str(p) if inst is None else _plain(price_to_decimal(inst, p))


def fmt_qty(inst: Instrument | None, q: int | None) -> str:
    if q is None:
        return ""
    return str(q) if inst is None else _plain(qty_to_decimal(inst, q))


def _plain(d: Decimal) -> str:
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s or "0"


def side(text: str) -> Side:
    t = text.strip().lower()
    if t in ("buy", "buys", "bid", "b"):
        return Side.BUY
    if t in ("sell", "sells", "ask", "offer", "s"):
        return Side.SELL
    raise StepInputError(f"side {text!r} is not buy or sell")


_TYPES = {
    "limit": OrderType.LIMIT,
    "market": OrderType.MARKET,
    "stop": OrderType.STOP,
    "stop limit": OrderType.STOP_LIMIT,
    "stop-limit": OrderType.STOP_LIMIT,
    "stop_limit": OrderType.STOP_LIMIT,
}


def order_type(text: str) -> OrderType:
    t = _TYPES.get(text.strip().lower())
    if t is None:
        raise StepInputError(f"order type {text!r} is unknown (one of: LIMIT, MARKET, STOP, STOP_LIMIT)")
    return t


def tif(text: str) -> TimeInForce:
    try:
        return TimeInForce(text.strip().upper())
    except ValueError:
        names = ", ".join(t.value for t in TimeInForce)
        raise StepInputError(f"time in force {text!r} is unknown (one of: {names})") from None


def stp(text: str) -> SelfTradePrevention:
    try:
        return SelfTradePrevention(text.strip().upper().replace("-", "_").replace(" ", "_"))
    except ValueError:
        names = ", ".join(t.value for t in SelfTradePrevention)
        raise StepInputError(f"self-trade prevention {text!r} is unknown (one of: {names})") from None


# Words people use for phases, and the phase each names.
PHASE_WORDS = {
    "lunch break": Phase.BREAK,
    "break": Phase.BREAK,
    "pre-open": Phase.PRE_OPEN,
    "pre open": Phase.PRE_OPEN,
    "opening auction": Phase.OPENING_AUCTION,
    "open": Phase.CONTINUOUS,
    "continuous session": Phase.CONTINUOUS,
    "continuous trading": Phase.CONTINUOUS,
    "afternoon session": Phase.CONTINUOUS,
    "closing auction": Phase.CLOSING_AUCTION,
    "close": Phase.CLOSED,
    "closed": Phase.CLOSED,
    "halt": Phase.HALTED,
    "halted": Phase.HALTED,
}


def phase(text: str) -> Phase:
    t = text.strip()
    try:
        return Phase(t.upper().replace(" ", "_").replace("-", "_"))
    except ValueError:
        pass
    p = PHASE_WORDS.get(t.lower().removeprefix("the ").removesuffix(" phase"))
    if p is None:
        names = ", ".join(p.value for p in Phase)
        raise StepInputError(f"phase {text!r} is unknown (one of: {names}, or 'lunch break', 'close'...)")
    return p


def zone(text: str) -> ZoneInfo:
    try:
        return ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise StepInputError(f"time zone {text!r} is unknown (use an IANA name like Asia/Tokyo)") from None


def day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise StepInputError(f"date {text!r} is not a date (use YYYY-MM-DD)") from None


_TIME = re.compile(
    r"^(?:(?P<date>\d{4}-\d{2}-\d{2})[ T])?(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,9}))?)?"
    rf"(?:(?P<off>Z|[+-]\d{{2}}:?\d{{2}})|\s+(?P<zone>{ZONE_NAME}))?$"
)


def instant(text: str, on: date | Callable[[ZoneInfo], date], tz: ZoneInfo) -> int:
    """ns for '10:30', '10:30:15.250', '10:30 Asia/Tokyo' or '2027-01-05 09:00' (on ``on`` in ``tz``
    unless the text says otherwise). ``on`` may be a function of the zone: a time written in another
    zone then falls on that zone's date (07:00 Tokyo while it is 17:00 the day before in New York)."""
    m = _TIME.match(text.strip())
    if m is None:
        raise StepInputError(
            f"time {text!r} is not a time (use HH:MM[:SS], optionally a date and a zone, "
            "or YYYY-MM-DDTHH:MM:SS+09:00)"
        )
    z = zone(m["zone"]) if m["zone"] else tz
    d = day(m["date"]) if m["date"] else (on if isinstance(on, date) else on(z))
    try:
        t = time(int(m["h"]), int(m["m"]), int(m["s"] or 0))
    except ValueError:
        raise StepInputError(f"time {text!r} is not a time of day") from None
    frac = int((m["f"] or "0").ljust(9, "0"))
    if m["off"]:  # an instant of its own (the form a daylight-saving message suggests)
        if not m["date"]:
            raise StepInputError(f"time {text!r}: an offset needs its date (2027-11-07T01:30:00-04:00)")
        try:
            zone_of_offset = datetime.strptime(m["off"], "%z").tzinfo  # Z, +09:00 or -0400
        except ValueError:
            raise StepInputError(f"time {text!r}: {m['off']!r} is not a UTC offset") from None
        return from_datetime(datetime.combine(d, t, tzinfo=zone_of_offset)) + frac
    return local_ns(d, t, z, text) + frac


def local_ns(d: date, t: time, tz: ZoneInfo, text: str = "") -> int:
    """ns of a wall-clock time, refusing one the clocks skip and one they pass twice (a daylight
    saving change): either would otherwise be read silently as some other instant."""
    from sim.clock.localtime import LocalTimeError, resolve_local

    try:
        return resolve_local(d, t, tz)
    except LocalTimeError as e:
        raise StepInputError(f"time {text or t.isoformat()!r}: {e}") from None


_UNITS = {
    "ns": 1,
    "us": 1_000,
    "ms": 1_000_000,
    "millisecond": 1_000_000,
    "second": NS_PER_SECOND,
    "sec": NS_PER_SECOND,
    "s": NS_PER_SECOND,
    "minute": 60 * NS_PER_SECOND,
    "min": 60 * NS_PER_SECOND,
    "hour": 3600 * NS_PER_SECOND,
    "h": 3600 * NS_PER_SECOND,
    "day": 86_400 * NS_PER_SECOND,
    "week": 7 * 86_400 * NS_PER_SECOND,
}


def duration(text: str) -> int:
    """ns in '5 minutes', '90 seconds', '1 hour', '250 ms', 'a minute'."""
    m = re.fullmatch(r"\s*(an?|one|\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*", text)
    word = m[2].lower() if m else ""
    unit = _UNITS.get(word) or _UNITS.get(word.removesuffix("s"))
    if m is None or unit is None:
        raise StepInputError(f"duration {text!r} is not a duration (use 5 minutes, 90 seconds, 250 ms)")
    n = Decimal(1) if m[1] in ("a", "an", "one") else Decimal(m[1])
    return int(n * unit)


def local(t_ns: int, tz: ZoneInfo, *, with_date: bool = False) -> str:
    """'10:30:00' (or '2027-01-04 10:30:00') in ``tz``, with milliseconds when not whole."""
    dt = to_datetime(t_ns, tz)
    s = dt.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")
    if t_ns % NS_PER_SECOND:
        s += f".{(t_ns % NS_PER_SECOND) // 1_000_000:03d}"
    return s


def add_days(d: date, n: int) -> date:
    return d + timedelta(days=n)
