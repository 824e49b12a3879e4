"""The feed's fast indicative auction result equals the engine's own ``uncross_price``."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from system.engine.auction import uncross_price
from system.gateways.itch.imbalance import indicative

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
