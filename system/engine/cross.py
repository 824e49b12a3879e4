"""Cross-currency conversion between books of one ``cross_group`` (BTC/JPY and BTC/USD).

A price in the other book converts into this book's int units exactly, as a Fraction:
``p_other * increment_other * rate / increment_this``, where ``rate`` is the FxRateSet from the
other book's quote currency to this one's (or the inverse of the opposite pair).
"""

from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple

from system.engine.book import Book


class Leg(NamedTuple):
    book: Book  # the other book
    factor: Fraction  # other-book price units -> this book's price units
    fx_base: str
    fx_quote: str
    mantissa: int
    exponent: int


def _rate(m: int, e: int) -> Fraction:
    return Fraction(m) * (Fraction(10) ** e)


def legs(book: Book, group: list[Book], fx: dict[tuple[str, str], tuple[int, int]]) -> list[Leg]:
    """The other books ``book`` may match against, with the conversion into ``book``'s units."""
    out: list[Leg] = []
    this = book.inst
    for other in group:
        o = other.inst
        if other is book or o.qty_increment != this.qty_increment:
            continue
        if o.quote_currency == this.quote_currency:
            rate, pair = Fraction(1), ("", "", 1, 0)
        elif (o.quote_currency, this.quote_currency) in fx:
            m, e = fx[(o.quote_currency, this.quote_currency)]
            rate, pair = _rate(m, e), (o.quote_currency, this.quote_currency, m, e)
        elif (this.quote_currency, o.quote_currency) in fx:
            m, e = fx[(this.quote_currency, o.quote_currency)]
            if m <= 0:
                continue
            rate, pair = 1 / _rate(m, e), (this.quote_currency, o.quote_currency, m, e)
        else:
            continue
        if rate <= 0:
            continue
        factor = Fraction(o.price_increment) * rate / Fraction(this.price_increment)
        out.append(Leg(other, factor, *pair))
    return out
