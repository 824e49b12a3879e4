"""Reference data: Decimal <-> int at the edges, tick tables, price limits."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from system.engine import (
    Instrument,
    Phase,
    PriceLimits,
    limit_width,
    notional,
    price_to_decimal,
    price_to_int,
    qty_to_decimal,
    qty_to_int,
    tse_price_limits,
    tse_tick_table,
)
from system.engine.book import Book

TOYOTA = Instrument(
    "XTKS:7203", "XTKS", "7203", "7203", "JPY", price_increment="0.1",
    tick_table=tse_tick_table("0.1", topix100=True), lot_size=100,
)  # fmt: skip


def test_price_round_trips_through_int_units() -> None:
    """2500.5 yen with increment 0.1 is the int 25005 and back."""
    assert price_to_int(TOYOTA, "2500.5") == 25005
    assert price_to_decimal(TOYOTA, 25005) == Decimal("2500.5")


def test_off_increment_price_names_value_tick_and_instrument() -> None:
    """The error says which price, which tick and which instrument."""
    with pytest.raises(ValueError, match=r"price 101.05 is not a multiple of tick 0.1 for XTKS:7203"):
        price_to_int(TOYOTA, "101.05")


def test_tse_topix100_ticks_follow_the_price_band() -> None:
    """TOPIX100 ticks: 0.1 up to 1,000 yen, 0.5 up to 3,000 yen, 1 yen up to 10,000 yen."""
    assert price_to_int(TOYOTA, "999.9") == 9999
    assert price_to_int(TOYOTA, "1000.0") == 10000
    with pytest.raises(ValueError, match=r"tick 0\.5"):
        price_to_int(TOYOTA, "1000.1")
    with pytest.raises(ValueError, match=r"tick 1\.0"):
        price_to_int(TOYOTA, "3000.5")


def test_tse_standard_table_boundaries() -> None:
    """Standard TSE ticks: 1 yen up to 3,000, then 5 yen up to 5,000."""
    t = Instrument("X:1", "X", "1", "1", "JPY", tick_table=tse_tick_table())
    assert t.tick_at(3000) == 1 and t.tick_at(3001) == 5 and t.tick_at(5001) == 10


def test_quantity_must_be_a_lot_multiple() -> None:
    """Quantities convert to int units and must be whole lots."""
    assert qty_to_int(TOYOTA, "300") == 300 and qty_to_decimal(TOYOTA, 300) == Decimal(300)
    with pytest.raises(ValueError, match="quantity 150 is not a multiple of lot 100 for XTKS:7203"):
        qty_to_int(TOYOTA, 150)


def test_garbage_is_a_clear_error() -> None:
    """A non-number names itself."""
    with pytest.raises(ValueError, match="'abc' is not a number for XTKS:7203"):
        price_to_int(TOYOTA, "abc")


def test_tse_daily_limit_widths_by_base_price() -> None:
    """TSE limits: base under 100 yen +-30, 100-199 +-50, 1,000-1,499 +-300."""
    inst = Instrument("X:1", "X", "1", "1", "JPY", price_limits=tse_price_limits())
    assert [limit_width(inst, p) for p in (99, 100, 199, 1000, 1499)] == [30, 50, 50, 300, 300]
    pct = Instrument("X:1", "X", "1", "1", "JPY", price_limits=PriceLimits(percent_bp=1000))
    assert limit_width(pct, 2500) == 250


def test_notional_uses_the_multiplier() -> None:
    """Notional is price x quantity x contract size in the quote currency."""
    fut = Instrument("OSE:NK", "OSE", "NK", "NK", "JPY", price_increment="5", multiplier="1000")
    assert notional(fut, 7600, 2) == Decimal(7600 * 5 * 2 * 1000)


@st.composite
def _tick_tables(draw: st.DrawFn) -> tuple[tuple[int, int], ...]:
    starts = sorted(draw(st.sets(st.integers(min_value=1, max_value=10**6), max_size=8)))
    ticks = draw(
        st.lists(st.integers(min_value=1, max_value=500), min_size=len(starts) + 1, max_size=len(starts) + 1)
    )
    return tuple(zip([0, *starts], ticks, strict=True))


@given(_tick_tables(), st.lists(st.integers(min_value=-10, max_value=2 * 10**6), min_size=1, max_size=40))
def test_book_tick_is_the_instruments_tick(table: tuple[tuple[int, int], ...], prices: list[int]) -> None:
    """A book's bisected tick table answers exactly as Instrument.tick_at (replace checks use it)."""
    inst = Instrument(
        id="T:1", venue="T", symbol="1", base_currency="1", quote_currency="JPY", tick_table=table
    )
    book = Book(inst, Phase.CONTINUOUS)
    for p in prices:
        assert book.tick_at(p) == inst.tick_at(p)
