"""Decimals on the wire, integer units inside: the REST gateway's one place for the conversion.

Only the instrument's increments are checked here; tick tables, lots, limits and bands stay the
engine's to judge, so a badly priced order is a logged engine rejection, as over FIX.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

from system.engine import Instrument
from system.gateways.rest.problems import Problem

MAX_UNITS = 10**15  # more units than any book holds: refuse before the engine sees it


def to_units(value: Decimal, inc: str, what: str, inst: Instrument) -> int:
    if not value.is_finite():
        raise Problem(422, f"{what} {value} is not a finite number", field=what, value=str(value))
    u = value / Decimal(inc)
    if abs(u) >= MAX_UNITS:
        raise Problem(422, f"{what} {value} is out of range for {inst.id}", field=what, value=str(value))
    if u != u.to_integral_value():
        raise Problem(
            422,
            f"{what} {value} is not a multiple of increment {inc} for {inst.id}",
            field=what,
            value=str(value),
        )
    return int(u)


def price_units(inst: Instrument, value: Decimal | None, what: str = "price") -> int | None:
    return None if value is None else to_units(value, inst.price_increment, what, inst)


def qty_units(inst: Instrument, value: Decimal | None, what: str = "qty") -> int | None:
    return None if value is None else to_units(value, inst.qty_increment, what, inst)


@lru_cache(maxsize=65536)
def _text(increment: str, units: int) -> str:
    return format((units * Decimal(increment)).normalize(), "f")


def price_text(inst: Instrument, units: int | None) -> str | None:
    return None if units is None else _text(inst.price_increment, units)


def qty_text(inst: Instrument, units: int) -> str:
    return _text(inst.qty_increment, units)


def iso(ns: int) -> str:
    """An instant as RFC 3339 UTC with nanoseconds kept."""
    s, frac = divmod(ns, 10**9)
    base = datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{frac:09d}Z"


def ns_of(t: datetime) -> int:
    """A client's instant (with an offset; naive means UTC) in ns."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    delta = t - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000
