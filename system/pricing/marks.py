"""Mark arithmetic: the composite index over several sources, and the mid of a book.

Composite (docs/pricing.md): take the configured sources that have a price no older than
``stale_ns``; find their median (the mean of the two middle prices, floored, for an even count);
leave out any source further than ``outlier_bp`` from the median; the mark is the weighted mean
of what is left, rounded half up to an int price unit. Fewer than ``min_sources`` left: no mark.
"""

from __future__ import annotations

from collections.abc import Sequence


def median(prices: Sequence[int]) -> int:
    s = sorted(prices)
    n = len(s)
    mid = n // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) // 2


def composite(
    quotes: Sequence[tuple[str, int, int, int]],
    now: int,
    stale_ns: int,
    outlier_bp: int,
    min_sources: int = 1,
) -> tuple[int, tuple[str, ...]] | None:
    """``quotes`` are ``(source, weight, price, time)`` in configured order. Returns the mark and
    the sources used (in configured order), or None when too few are fresh and sane."""
    fresh = [q for q in quotes if now - q[3] <= stale_ns]
    if len(fresh) < min_sources or not fresh:
        return None
    if outlier_bp:
        m = median([q[2] for q in fresh])
        fresh = [q for q in fresh if abs(q[2] - m) * 10_000 <= m * outlier_bp]
        if len(fresh) < min_sources or not fresh:
            return None
    num = sum(q[1] * q[2] for q in fresh)
    den = sum(q[1] for q in fresh)
    return (2 * num + den) // (2 * den), tuple(q[0] for q in fresh)


def mid(bid: int | None, ask: int | None) -> int | None:
    """The mid of a two-sided book, floored to an int unit; None unless both sides are there."""
    if bid is None or ask is None:
        return None
    return (bid + ask) // 2
