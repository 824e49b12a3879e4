"""Cross-currency matching: one asset, several quote currencies, an FX rate from pricing."""

from __future__ import annotations

from system.engine import Side, TradeExecuted
from system.engine.testkit import EngineHarness, instrument

JPY, USD = "XCRY:BTCJPY", "XCRY:BTCUSD"
B, S = Side.BUY, Side.SELL


def harness() -> EngineHarness:
    e = EngineHarness(
        instrument(JPY, base_currency="BTC", quote_currency="JPY", qty_increment="0.001", cross_group="BTC"),
        instrument(
            USD, base_currency="BTC", quote_currency="USD", price_increment="0.01", qty_increment="0.001",
            cross_group="BTC",
        ),
    )  # fmt: skip
    e.fx("USD", "JPY", 150)
    e.submit("u", "usd-ask", USD, S, 5, price=6_000_000)  # 60,000.00 USD = 9,000,000 JPY
    e.submit("j", "jpy-ask", JPY, S, 5, price=9_100_000)
    return e


def trades(events: list[object]) -> list[TradeExecuted]:
    return [e for e in events if isinstance(e, TradeExecuted)]


def test_order_allowing_cross_currency_takes_the_better_converted_price() -> None:
    """A JPY buy may fill against a USD offer worth less in JPY; the fill records both prices and the rate."""
    e = harness()
    (t,) = trades(e.submit("b", "1", JPY, B, 3, price=9_050_000, cross_currency=True))
    assert (t.instrument, t.price, t.qty) == (USD, 6_000_000, 3)
    assert (t.cross_instrument, t.cross_price) == (JPY, 9_000_000)
    assert (t.fx_base, t.fx_quote, t.fx_mantissa, t.fx_exponent) == ("USD", "JPY", 150, 0)
    assert (t.buy_account, t.sell_account, t.aggressor) == ("b", "u", B)


def test_without_the_flag_an_order_stays_in_its_own_book() -> None:
    """Cross-currency matching is opt-in per order."""
    e = harness()
    assert not trades(e.submit("b", "1", JPY, B, 3, price=9_050_000))
    assert e.book(JPY).bids[0].price == 9_050_000


def test_cross_fill_then_local_when_the_local_book_becomes_better() -> None:
    """The order walks both books best converted price first."""
    e = harness()
    ts = trades(e.submit("b", "1", JPY, B, 8, price=9_100_000, cross_currency=True))
    assert [(t.instrument, t.qty) for t in ts] == [(USD, 5), (JPY, 3)]


def test_local_book_wins_a_tie() -> None:
    """At an equal converted price the order's own book fills first."""
    e = harness()
    e.submit("j", "tie", JPY, S, 1, price=9_000_000)
    ts = trades(e.submit("b", "1", JPY, B, 1, price=9_000_000, cross_currency=True))
    assert [t.instrument for t in ts] == [JPY]


def test_no_rate_means_no_cross_matching() -> None:
    """Without an FX rate between the quote currencies the other book is out of reach."""
    e = EngineHarness(
        instrument(JPY, quote_currency="JPY", cross_group="BTC"),
        instrument("XCRY:BTCEUR", quote_currency="EUR", cross_group="BTC"),
    )
    e.submit("u", "a", "XCRY:BTCEUR", S, 5, price=1)
    assert not trades(e.submit("b", "1", JPY, B, 3, price=9_050_000, cross_currency=True))


def test_inverse_rate_is_used_when_only_the_opposite_pair_is_known() -> None:
    """A JPY/USD rate converts USD prices into JPY by its inverse."""
    e = EngineHarness(
        instrument(JPY, quote_currency="JPY", cross_group="BTC"),
        instrument(USD, quote_currency="USD", price_increment="0.01", cross_group="BTC"),
    )
    e.fx("JPY", "USD", 5, -3)  # 1 JPY = 0.005 USD, so 1 USD = 200 JPY
    e.submit("u", "a", USD, S, 1, price=4_000_000)  # 40,000 USD = 8,000,000 JPY
    (t,) = trades(e.submit("b", "1", JPY, B, 1, price=8_000_000, cross_currency=True))
    assert t.cross_price == 8_000_000 and (t.fx_base, t.fx_quote) == ("JPY", "USD")
