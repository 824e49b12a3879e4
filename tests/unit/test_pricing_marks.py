"""Pricing: marks by method (last, mid, composite, manual), FX and cross rates, reference prices,
and the marks read model at past instants."""

from __future__ import annotations

from typing import Any

import pytest

from system.corrections import CorrectPrice
from system.engine import FxRateSet, ReferencePriceSet, Side
from system.pricing import (
    FxTable,
    MarkPriceSet,
    PricingRejected,
    RecomputeMarks,
    RollReferencePrices,
    SetFxRate,
    SetMarkPrice,
    SetSourcePrice,
    SourcePriceSet,
    invert,
    multiply,
    parse_rate,
)
from system.pricing.fx import normalize
from system.pricing.marks import composite, median
from system.risk.testkit import RiskHarness, of, stock

TOY = "XTKS:7203"
BTC = "CRYPTO:BTC-JPY"
S = 10**9


def pricing(**cfg: Any) -> RiskHarness:
    return RiskHarness(
        stock(TOY), stock(BTC, base_currency="BTC", price_increment="1", qty_increment="0.0001"),
        pricing=cfg,
    )  # fmt: skip


def marks(events: list[Any]) -> list[tuple[str, int, str]]:
    return [(m.instrument, m.price, m.method) for m in of(events, MarkPriceSet)]


def test_last_trade_marks_on_change_only() -> None:
    """With the last method a trade sets the mark; a trade at the same price emits nothing."""
    h = pricing()
    assert marks(h.cross("A", "B", TOY, 10, 1000)) == [(TOY, 1000, "last")]
    assert marks(h.cross("A", "B", TOY, 10, 1000)) == []
    assert marks(h.cross("A", "B", TOY, 10, 1001)) == [(TOY, 1001, "last")]


def test_mid_marks_from_the_book() -> None:
    """With the mid method the mark is the floored mid of the best bid and offer."""
    h = pricing(marks={TOY: {"method": "mid"}})
    assert marks(h.submit("A", TOY, Side.BUY, 10, price=990)) == []  # one-sided: no mid
    assert marks(h.submit("B", TOY, Side.SELL, 10, price=1011)) == [(TOY, 1000, "mid")]
    assert marks(h.submit("B", TOY, Side.SELL, 10, price=1001)) == [(TOY, 995, "mid")]


def test_composite_weights_staleness_and_outliers() -> None:
    """A composite mark is the weighted mean of fresh sources within the outlier band."""
    src = [{"name": "a", "weight": 3}, {"name": "b", "weight": 1}, {"name": "c", "weight": 1}]
    h = pricing(marks={BTC: {"method": "composite", "sources": src, "stale_after": "5s", "outlier_bp": 100}})
    t = h.clock.t
    assert marks(h.at(t, SetSourcePrice(BTC, "a", 10_000_000))) == [(BTC, 10_000_000, "composite")]
    h.at(t + S, SetSourcePrice(BTC, "b", 10_040_000))  # (3*10.00 + 10.04) / 4 = 10.01
    assert h.marks.mark(BTC) == 10_010_000
    ev = h.at(t + 2 * S, SetSourcePrice(BTC, "c", 12_000_000))  # 20% off the median: left out
    assert of(ev, SourcePriceSet) and marks(ev) == []
    ev = h.at(t + 6 * S, RecomputeMarks())  # "a" is now stale: b and c remain, median 11.02
    # b is 8.9% from the median of (10.04, 12.00): both are outliers of each other's median
    assert marks(ev) == []
    ev = h.at(t + 6 * S, SetSourcePrice(BTC, "c", 10_060_000))
    assert marks(ev) == [(BTC, 10_050_000, "composite")]
    (m,) = of(ev, MarkPriceSet)
    assert m.sources == ("b", "c")


def test_composite_with_own_last_trade_and_min_sources() -> None:
    """The "self" source is the instrument's last trade; below min_sources there is no mark."""
    src = [{"name": "ext", "weight": 1}, {"name": "self", "weight": 1}]
    h = pricing(marks={TOY: {"method": "composite", "sources": src, "min_sources": 2}})
    assert marks(h.do(SetSourcePrice(TOY, "ext", 1010))) == []
    assert marks(h.cross("A", "B", TOY, 1, 1000)) == [(TOY, 1005, "composite")]


def test_composite_arithmetic() -> None:
    """Median of an even count floors the mean of the middle two; the weighted mean rounds half up."""
    assert median([1, 4]) == 2 and median([3, 1, 2]) == 2
    assert composite([("a", 1, 1, 0), ("b", 1, 2, 0)], 0, 10, 0) == (2, ("a", "b"))
    assert composite([("a", 1, 100, 0)], 20, 10, 0) is None


def test_manual_mark_and_rejections() -> None:
    """SetMarkPrice emits a manual mark; an unknown instrument or a bad price is refused."""
    h = pricing(default_method="manual")
    assert marks(h.do(SetMarkPrice(TOY, 1234))) == [(TOY, 1234, "manual")]
    assert marks(h.cross("A", "B", TOY, 1, 1000)) == []  # manual: trades do not move it
    (r,) = of(h.do(SetMarkPrice("XTKS:0000", 1)), PricingRejected)
    assert (r.field, r.value, r.text) == ("instrument", "XTKS:0000", "unknown instrument XTKS:0000")
    assert of(h.do(SetMarkPrice(TOY, 0)), PricingRejected)[0].field == "price"


def test_fx_rates_and_published_cross() -> None:
    """SetFxRate emits FxRateSet; a configured cross is published exactly from its legs."""
    h = pricing(crosses=[["BTC", "JPY"]])
    ev = h.do(SetFxRate("BTC", "USD", 65_000_12, -2))
    assert [(e.base, e.quote) for e in of(ev, FxRateSet)] == [("BTC", "USD")]
    ev = h.do(SetFxRate("USD", "JPY", 150_25, -2))
    assert [(e.base, e.quote, e.mantissa, e.exponent) for e in of(ev, FxRateSet)] == [
        ("USD", "JPY", 15025, -2),
        ("BTC", "JPY", 976_626_803, -2),  # 65000.12 x 150.25 = 9766268.03, exact
    ]
    assert h.system.engine.fx[("BTC", "JPY")] == (976_626_803, -2)  # the engine folds it
    assert of(h.do(SetFxRate("USD", "JPY", 150_25, -2)), FxRateSet)[1:] == []  # unchanged: not re-sent
    (r,) = of(h.do(SetFxRate("BTC", "JPY", 1, 0)), PricingRejected)
    assert r.text == "BTC/JPY is a configured cross rate: set its legs instead"
    assert of(h.do(SetFxRate("USD", "USD", 1, 0)), PricingRejected)
    assert of(h.do(SetFxRate("EUR", "USD", 0, 0)), PricingRejected)[0].field == "mantissa"


def test_fx_math_rounding() -> None:
    """Products are exact up to 18 digits; inverses round half to even at 18 significant digits."""
    assert multiply((15025, -2), (6500012, -2)) == (976626803, -2)
    assert invert((4, 0)) == (25, -2)
    assert invert((3, 0)) == (333333333333333333, -18)
    assert invert((15025, -2)) == (665557404326123128, -20)
    assert normalize(10**20 + 5 * 10**2, 0) == (1, 20)
    assert normalize(1234567890123456789, 0) == (123456789012345679, 1)
    assert parse_rate("150.250") == (15025, -2)
    with pytest.raises(ValueError, match="not a decimal"):
        parse_rate("abc")
    t = FxTable(("USD",))
    t.set("EUR", "USD", 11, -1)
    t.set("USD", "JPY", 150, 0)
    assert t.rate("EUR", "JPY") == (165, 0)
    assert t.rate("JPY", "USD") == invert((150, 0))
    assert t.rate("GBP", "JPY") is None


def test_roll_reference_prices_sets_previous_close() -> None:
    """RollReferencePrices sets each instrument's reference to its last trade (or its mark on a tick)."""
    h = RiskHarness(stock(TOY), stock("XTKS:9984", tick_table=((0, 5),)), pricing={})
    h.cross("A", "B", TOY, 10, 2500)
    h.do(SetMarkPrice("XTKS:9984", 7003))
    ev = h.do(RollReferencePrices("XTKS"))
    assert [(e.instrument, e.price) for e in of(ev, ReferencePriceSet)] == [(TOY, 2500), ("XTKS:9984", 7000)]
    assert h.system.engine.book(TOY).reference_price == 2500
    assert of(h.do(RollReferencePrices("OTHER")), ReferencePriceSet) == []


def test_marks_read_model_as_of_and_corrections() -> None:
    """The mark at a past instant replays from the log; a price correction revises that instant
    and the current mark, and "as known at" leaves the correction out."""
    h = pricing(default_method="manual")
    t = h.clock.t
    h.at(t, SetMarkPrice(TOY, 1000))
    h.at(t + 10 * S, SetMarkPrice(TOY, 1100))
    known = h.store.head().seq
    assert h.marks.mark_at(TOY, t + 5 * S) == 1000
    assert h.marks.mark_at(TOY, t - 1) is None
    ev = h.at(t + 20 * S, CorrectPrice(TOY, 1090, t + 10 * S))
    assert marks(ev) == [(TOY, 1090, "corrected")]
    assert h.marks.mark_at(TOY, t + 15 * S) == 1090
    assert h.marks.mark_at(TOY, t + 15 * S, known_at_seq=known) == 1100
    assert h.marks.mark(TOY) == 1090
    h.at(t + 21 * S, CorrectPrice(TOY, 990, t + 1 * S))  # an older instant: history only
    assert h.marks.mark_at(TOY, t + 5 * S) == 990 and h.marks.mark(TOY) == 1090


def test_fx_read_model_as_of() -> None:
    """The FX rate at a past instant comes from the log."""
    h = pricing()
    t = h.clock.t
    h.at(t, SetFxRate("USD", "JPY", 150, 0))
    h.at(t + S, SetFxRate("USD", "JPY", 151, 0))
    assert h.marks.fx_at("USD", "JPY", t) == (150, 0)
    assert h.marks.fx_at("USD", "JPY", t + S) == (151, 0)
    assert h.marks.fx_rate("JPY", "USD") == invert((151, 0))
