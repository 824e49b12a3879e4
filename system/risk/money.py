"""Money inside risk: ``int`` counts of a currency's unit (JPY 1, USD 0.01, BTC 0.00000001).

Conversion factors are exact fractions ``(num, den)`` computed once (at listing, on an FX change);
the hot path multiplies and floor-divides ints. ``Decimal`` appears only here, at the edges.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from system.engine.refdata import Instrument

DEFAULT_UNITS = {"JPY": "1", "KRW": "1", "BTC": "0.00000001", "ETH": "0.00000001"}
FALLBACK_UNIT = "0.01"


def unit_of(currency: str, units: dict[str, str]) -> Decimal:
    return Decimal(units.get(currency) or DEFAULT_UNITS.get(currency, FALLBACK_UNIT))


def raw_factor(inst: Instrument, units: dict[str, str]) -> Fraction:
    """Money units of the quote currency per (int price x int qty): increments x multiplier / unit."""
    return (
        Fraction(Decimal(inst.price_increment))
        * Fraction(Decimal(inst.qty_increment))
        * Fraction(Decimal(inst.multiplier))
        / Fraction(unit_of(inst.quote_currency, units))
    )


def pair(f: Fraction) -> tuple[int, int]:
    return f.numerator, f.denominator


def to_money(amount: Decimal, currency: str, units: dict[str, str]) -> int:
    """``amount`` in units of ``currency``; raises ValueError when it is not a whole number of units."""
    u = unit_of(currency, units)
    n = amount / u
    if n != n.to_integral_value():
        raise ValueError(f"{amount} is not a multiple of the {currency} unit {u}")
    return int(n)


def decimal_money(value: int, currency: str, units: dict[str, str]) -> Decimal:
    return value * unit_of(currency, units)


def fmt_decimal(d: Decimal) -> str:
    """``1250000`` -> ``1,250,000``; ``0.5`` stays ``0.5`` (no exponent, no trailing zeros)."""
    if d == d.to_integral_value():
        return f"{int(d):,}"
    whole, _, frac_part = f"{abs(d):f}".partition(".")
    sign = "-" if d < 0 else ""
    return f"{sign}{int(whole):,}.{frac_part.rstrip('0')}"


def fmt_money(value: int, currency: str, units: dict[str, str]) -> str:
    return fmt_decimal(decimal_money(value, currency, units))
