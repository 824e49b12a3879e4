"""The feed's fast indicative auction result equals the engine's own ``uncross_price``, and a change
where ``unmoved`` says it cannot move that result does not."""

from __future__ import annotations

from itertools import accumulate

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from system.engine.auction import uncross_price
from system.gateways.itch.imbalance import indicative, unmoved

price = st.integers(90, 110)
level = st.tuples(price, st.integers(0, 60))
books = st.tuples(
    st.lists(level, max_size=14),
    st.lists(level, max_size=14),
    st.integers(0, 40),
    st.integers(0, 40),
    st.none() | price,
    st.integers(0, 100),
    st.none() | st.integers(95, 120),
)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books)
def test_indicative_equals_the_engines_uncross(book) -> None:  # type: ignore[no-untyped-def]
    """For any book (duplicate prices, empty sides, market orders, limits, with or without a
    reference), the price, volume and imbalance are the engine's."""
    bids, asks, mb, ms, ref, lo, hi = book
    assert indicative(list(bids), list(asks), mb, ms, ref, lo, hi) == uncross_price(
        bids, asks, mb, ms, ref, lo, hi
    )


def test_a_plateau_of_equal_volume_is_broken_by_the_reference() -> None:
    """Equal volume and imbalance over 100..102: the price nearest the reference wins, as in the
    engine (its rule 3)."""
    bids, asks = [(102, 10)], [(100, 10)]
    for ref in (None, 99, 101, 105):
        assert indicative(list(bids), list(asks), 0, 0, ref) == uncross_price(bids, asks, 0, 0, ref)
    assert indicative(list(bids), list(asks), 0, 0, 101).price == 101


def _running(levels: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    levels = sorted(levels)
    return [p for p, _ in levels], [0, *accumulate(q for _, q in levels)]


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books, st.booleans(), st.integers(0, 1000), st.integers(0, 60))
def test_a_change_unmoved_allows_leaves_the_engines_result(book, buy, pick, qty) -> None:  # type: ignore[no-untyped-def]
    """Any resting quantity at one price set to any other (added, cut or removed), on a buy below
    ``a`` or a sell above ``b``: the engine's ``uncross_price`` of the changed book is the same."""
    bids, asks, mb, ms, ref, lo, hi = book
    before = uncross_price(bids, asks, mb, ms, ref, lo, hi)
    a, b = unmoved(before.qty, *_running(bids), *_running(asks), mb, ms)
    room = [p for p in range(80, 121) if (p < a if buy else p > b)]
    assume(room)
    p = room[pick % len(room)]
    side = bids if buy else asks
    changed = [lv for lv in side if lv[0] != p] + ([(p, qty)] if qty else [])
    event("changed an existing level" if len(changed) <= len(side) else "added a level")
    after = (
        uncross_price(changed, asks, mb, ms, ref, lo, hi)
        if buy
        else uncross_price(bids, changed, mb, ms, ref, lo, hi)
    )
    assert after == before


def test_unmoved_bounds_on_a_known_book() -> None:
    """Bids 100x10, 99x10, 98x10 against asks 98x5, 99x20: 20 trade at 99. A buy below 99 (the
    asks up to it hold 5 < 20) cannot matter, nor a sell above 99 (the bids above it hold 10)."""
    bp, bcum = _running([(100, 10), (99, 10), (98, 10)])
    ap, acum = _running([(98, 5), (99, 20)])
    assert uncross_price([(100, 10), (99, 10), (98, 10)], [(98, 5), (99, 20)], 0, 0, None).qty == 20
    assert unmoved(20, bp, bcum, ap, acum, 0, 0) == (99, 99)
    assert unmoved(0, bp, bcum, ap, acum, 0, 0) == (float("-inf"), float("inf"))
    assert unmoved(20, bp, bcum, ap, acum, 0, 25) == (float("-inf"), 99)  # market sells >= volume
