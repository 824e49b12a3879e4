"""FX rates in integer arithmetic: a rate is ``(mantissa, exponent)``, 1 base = m * 10**e quote.

Rounding (documented in docs/pricing.md): a product of two rates is exact until its mantissa has
more than ``DIGITS`` (18) significant digits; it is then rounded half-to-even to 18 digits. An
inverse is ``10**k / m`` rounded half-to-even to 18 significant digits. Nothing else rounds, so
BTC/JPY = BTC/USD x USD/JPY is exact for rates quoted to 9 digits each.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction

Rate = tuple[int, int]
DIGITS = 18


def _div_half_even(n: int, d: int) -> int:
    q, r = divmod(n, d)
    twice = 2 * r
    if twice > d or (twice == d and q % 2):
        q += 1
    return q


def normalize(m: int, e: int) -> Rate:
    """Round ``m`` to at most DIGITS significant digits (half to even) and drop trailing zeros."""
    if m <= 0:
        raise ValueError(f"FX mantissa {m} must be positive")
    extra = len(str(m)) - DIGITS
    if extra > 0:
        m = _div_half_even(m, 10**extra)
        e += extra
    while m % 10 == 0:
        m //= 10
        e += 1
    return m, e


def multiply(a: Rate, b: Rate) -> Rate:
    return normalize(a[0] * b[0], a[1] + b[1])


def invert(a: Rate) -> Rate:
    """1 / a to DIGITS significant digits."""
    m, e = a
    k = DIGITS + len(str(m)) - 1
    return normalize(_div_half_even(10**k, m), -k - e)


def as_fraction(a: Rate) -> Fraction:
    m, e = a
    return Fraction(m * 10**e) if e >= 0 else Fraction(m, 10**-e)


def parse_rate(text: str) -> Rate:
    """A decimal string (``"150.25"``) as a rate, exactly (the edge where people write rates)."""
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"FX rate {text!r} is not a decimal number") from None
    if not d.is_finite() or d <= 0:
        raise ValueError(f"FX rate {text!r} must be a positive number")
    _, digits, exp = d.as_tuple()
    assert isinstance(exp, int)
    return normalize(int("".join(map(str, digits))), exp)


class FxTable:
    """Direct rates as set, and the rate between any two currencies: direct, inverse, or through
    a pivot currency (first pivot that works, in the configured order)."""

    def __init__(self, pivots: tuple[str, ...] = ("USD",)) -> None:
        self.pivots = pivots
        self.direct: dict[tuple[str, str], Rate] = {}
        self.version = 0  # bumps on every change, so caches of derived factors know to refresh

    def set(self, base: str, quote: str, mantissa: int, exponent: int) -> None:
        self.direct[(base, quote)] = (mantissa, exponent)
        self.version += 1

    def _leg(self, base: str, quote: str) -> Rate | None:
        if base == quote:
            return (1, 0)
        r = self.direct.get((base, quote))
        if r is not None:
            return r
        inv = self.direct.get((quote, base))
        return invert(inv) if inv is not None else None

    def rate(self, base: str, quote: str) -> Rate | None:
        r = self._leg(base, quote)
        if r is not None:
            return r
        for p in self.pivots:
            if p in (base, quote):
                continue
            a, b = self._leg(base, p), self._leg(p, quote)
            if a is not None and b is not None:
                return multiply(a, b)
        return None

    def fraction(self, base: str, quote: str) -> Fraction | None:
        """The rate as an exact Fraction, for precomputing conversion factors."""
        if base == quote:
            return Fraction(1)
        r = self.rate(base, quote)
        return None if r is None else as_fraction(r)
