"""Continuous trading: price-time priority, order types, time in force, STP, icebergs, replace."""

from __future__ import annotations

from system.engine import (
    CancelAllOrders,
    CancelOrder,
    CancelReason,
    IcebergReplenished,
    OrderAccepted,
    OrderCancelled,
    OrderReduced,
    OrderRejected,
    OrderReplaced,
    OrderType,
    PriceBand,
    RejectReason,
    ReplaceOrder,
    SelfTradePrevention,
    Side,
    StopTriggered,
    TimeInForce,
    TradeExecuted,
)
from system.engine.orders import BandAction
from system.engine.testkit import EngineHarness, instrument

X = "XTKS:7203"
B, S = Side.BUY, Side.SELL


def trades(events: list[object]) -> list[tuple[int, int, int, int]]:
    """(price, qty, buy id, sell id) of each trade."""
    return [(e.price, e.qty, e.buy_order_id, e.sell_order_id) for e in events if isinstance(e, TradeExecuted)]


def of(events: list[object], kind: type) -> list:
    return [e for e in events if isinstance(e, kind)]


def h(**kw: object) -> EngineHarness:
    return EngineHarness(instrument(X, **kw))


def test_better_price_trades_first_then_earlier_time() -> None:
    """Resting orders fill best price first, and at one price in arrival order."""
    e = h()
    e.submit("A", "1", X, S, 10, price=101)
    e.submit("A", "2", X, S, 10, price=100)
    e.submit("A", "3", X, S, 10, price=100)
    ev = e.submit("B", "4", X, B, 25, price=101)
    assert trades(ev) == [(100, 10, 4, 2), (100, 10, 4, 3), (101, 5, 4, 1)]


def test_trade_happens_at_the_resting_price() -> None:
    """An aggressive buy at 105 against a resting sell at 100 trades at 100."""
    e = h()
    e.submit("A", "1", X, S, 10, price=100)
    assert trades(e.submit("B", "2", X, B, 10, price=105)) == [(100, 10, 2, 1)]


def test_partial_fill_rests_the_remainder_at_its_limit() -> None:
    """An incoming order larger than the opposite side fills partly and rests the rest."""
    e = h()
    e.submit("A", "1", X, S, 10, price=100)
    e.submit("B", "2", X, B, 30, price=100)
    bids = e.book(X).bids
    assert [(lv.price, lv.qty) for lv in bids] == [(100, 20)]
    assert not e.book(X).asks


def test_trade_records_aggressor_side_and_both_ids() -> None:
    """A fill names the aggressor side, buy/sell ids and accounts, resting and aggressor ids."""
    e = h()
    e.submit("A", "1", X, B, 10, price=100)
    (t,) = of(e.submit("B", "2", X, S, 10, price=100), TradeExecuted)
    assert (t.aggressor, t.buy_order_id, t.sell_order_id, t.buy_account, t.sell_account) == (
        S,
        1,
        2,
        "A",
        "B",
    )
    assert (t.resting_order_id, t.aggressor_order_id) == (1, 2)


def test_market_order_sweeps_and_its_rest_is_cancelled() -> None:
    """A market order takes what is there and its unfilled rest is cancelled."""
    e = h()
    e.submit("A", "1", X, S, 10, price=100)
    ev = e.submit("B", "2", X, B, 25, order_type=OrderType.MARKET)
    assert trades(ev) == [(100, 10, 2, 1)]
    (c,) = of(ev, OrderCancelled)
    assert (c.qty, c.reason) == (15, CancelReason.MARKET_REMAINDER)


def test_market_order_never_trades_through_the_price_band() -> None:
    """A market order stops at the dynamic band; the rest is cancelled and the far order stays."""
    from system.engine import SubmitOrder

    band = PriceBand(percent_bp=500, window_ns=1_000, action=BandAction.REJECT)
    e = h(reference_price=100, price_band=band)
    e.submit("A", "1", X, S, 10, price=103)
    e.submit("C", "2", X, B, 10, price=103)  # last 103: band 98..108
    e.submit("A", "3", X, S, 10, price=108)
    e.submit("A", "4", X, S, 10, price=101)
    e.at(3_000, SubmitOrder("A", "5", X, S, 1, price=98))
    e.at(3_000, SubmitOrder("C", "6", X, B, 1, price=98))  # last 98: band 94..102 once 103 ages out
    ev = e.at(5_000, SubmitOrder("B", "7", X, B, 100, order_type=OrderType.MARKET))
    assert trades(ev) == [(101, 10, 7, 4)]
    assert of(ev, OrderCancelled)[0].reason is CancelReason.MARKET_REMAINDER
    assert [lv.price for lv in e.book(X).asks] == [108]


def test_band_rejects_limit_orders_priced_outside_it() -> None:
    """With the REJECT action, a limit price outside the band is rejected."""
    e = h(reference_price=100, price_band=PriceBand(percent_bp=500, window_ns=10**9))
    (r,) = e.submit("A", "1", X, B, 1, price=106)
    assert isinstance(r, OrderRejected) and r.reason is RejectReason.OUTSIDE_PRICE_BAND


def test_band_breach_halts_the_instrument_when_configured() -> None:
    """With the HALT action, a fill beyond the band halts the instrument instead of trading."""
    from system.engine import ExpireDue, InstrumentHalted, InstrumentResumed, Phase

    band = PriceBand(percent_bp=500, window_ns=10**9, action=BandAction.HALT, halt_ns=5_000)
    e = h(reference_price=100, price_band=band)
    e.submit("A", "1", X, S, 10, price=110)
    ev = e.submit("B", "2", X, B, 10, price=110)
    (halt,) = of(ev, InstrumentHalted)
    assert not trades(ev) and e.engine.phase(X) is Phase.HALTED
    assert e.engine.next_expiry() == halt.until
    ev = e.at(halt.until, ExpireDue())
    assert of(ev, InstrumentResumed) and trades(ev) == [(110, 10, 2, 1)]  # resumption uncrosses
    assert e.engine.phase(X) is Phase.CONTINUOUS


def test_ioc_fills_what_it_can_and_cancels_the_rest() -> None:
    """IOC: immediate fill, the remainder is cancelled and never rests."""
    e = h()
    e.submit("A", "1", X, S, 10, price=100)
    ev = e.submit("B", "2", X, B, 15, price=100, tif=TimeInForce.IOC)
    assert trades(ev) == [(100, 10, 2, 1)]
    assert of(ev, OrderCancelled)[0].reason is CancelReason.IOC_REMAINDER
    assert not e.book(X).bids


def test_fok_that_cannot_fill_entirely_trades_nothing() -> None:
    """FOK: all or nothing; short liquidity cancels the whole order without a trade."""
    e = h()
    e.submit("A", "1", X, S, 10, price=100)
    ev = e.submit("B", "2", X, B, 15, price=100, tif=TimeInForce.FOK)
    assert not trades(ev)
    assert of(ev, OrderCancelled)[0].reason is CancelReason.FOK_UNFILLED
    ev = e.submit("B", "3", X, B, 10, price=100, tif=TimeInForce.FOK)
    assert trades(ev) == [(100, 10, 3, 1)]


def test_post_only_that_would_cross_is_rejected() -> None:
    """A post-only order that would take liquidity is rejected; one that rests is accepted."""
    e = h()
    e.submit("A", "1", X, S, 10, price=100)
    (r,) = e.submit("B", "2", X, B, 10, price=100, post_only=True)
    assert isinstance(r, OrderRejected) and r.reason is RejectReason.POST_ONLY_WOULD_CROSS
    assert isinstance(e.submit("B", "3", X, B, 10, price=99, post_only=True)[0], OrderAccepted)


def test_gtd_order_expires_at_its_time() -> None:
    """A GTD order expires when ExpireDue runs at its expire time; next_expiry says when."""
    from system.engine import ExpireDue, ExpireReason, OrderExpired

    e = h()
    e.submit("A", "1", X, B, 10, price=100, tif=TimeInForce.GTD, expire_time=5_000)
    assert e.engine.next_expiry() == 5_000
    assert not e.at(4_999, ExpireDue())
    (x,) = e.at(5_000, ExpireDue())
    assert isinstance(x, OrderExpired) and x.reason is ExpireReason.GTD
    assert not e.book(X).bids and e.engine.next_expiry() is None


def test_stop_order_triggers_on_a_trade_at_its_stop_price_and_becomes_market() -> None:
    """A buy stop at 102 triggers when a trade prints at 102 or above, then trades as a market order."""
    e = h()
    e.submit("S", "s", X, B, 5, order_type=OrderType.STOP, stop_price=102)
    e.submit("A", "1", X, S, 10, price=102)
    e.submit("A", "2", X, S, 10, price=103)
    ev = e.submit("C", "3", X, B, 10, price=102)
    assert of(ev, StopTriggered)[0].order_id == 1
    assert trades(ev) == [(102, 10, 4, 2), (103, 5, 1, 3)]


def test_stop_limit_triggers_into_a_resting_limit() -> None:
    """A sell stop-limit (stop 99, limit 98) triggers at a trade <= 99 and rests at 98 if unfilled."""
    e = h()
    e.submit("S", "s", X, S, 5, order_type=OrderType.STOP_LIMIT, stop_price=99, price=98)
    e.submit("A", "1", X, B, 10, price=99)
    ev = e.submit("C", "2", X, S, 10, price=99)
    assert of(ev, StopTriggered)
    assert [(lv.price, lv.qty) for lv in e.book(X).asks] == [(98, 5)]


def test_stop_price_already_reached_is_rejected() -> None:
    """A stop whose price the last trade already reached is rejected rather than fired at once."""
    e = h()
    e.submit("A", "1", X, S, 10, price=100)
    e.submit("B", "2", X, B, 10, price=100)
    (r,) = e.submit("C", "3", X, B, 1, order_type=OrderType.STOP, stop_price=100)
    assert isinstance(r, OrderRejected) and r.reason is RejectReason.INVALID_STOP_PRICE


def test_iceberg_shows_its_display_and_replenishes_at_the_back_of_the_queue() -> None:
    """An iceberg shows display_qty; when that is taken it refills behind orders already waiting."""
    e = h()
    e.submit("A", "ice", X, S, 30, price=100, display_qty=10)
    e.submit("B", "plain", X, S, 10, price=100)
    assert e.book(X).asks[0].qty == 20 and e.book(X).asks[0].total == 40
    ev = e.submit("C", "take", X, B, 15, price=100)
    assert trades(ev) == [(100, 10, 3, 1), (100, 5, 3, 2)]
    assert of(ev, IcebergReplenished)[0].display == 10
    assert [o.order_id for o in e.book(X).asks[0].orders] == [2, 1]


def test_cancel_removes_the_order() -> None:
    """A cancel takes the whole open quantity off the book."""
    e = h()
    e.submit("A", "1", X, B, 10, price=100)
    (c,) = e.do(CancelOrder("A", X, 1))
    assert isinstance(c, OrderCancelled) and c.qty == 10 and c.reason is CancelReason.USER
    assert not e.book(X).bids


def test_cancel_by_client_order_id() -> None:
    """An order can be cancelled by its client order id."""
    e = h()
    e.submit("A", "mine", X, B, 10, price=100)
    assert isinstance(e.do(CancelOrder("A", X, client_order_id="mine"))[0], OrderCancelled)


def test_reducing_quantity_keeps_time_priority() -> None:
    """A replace that only lowers the quantity keeps the order's place in the queue."""
    e = h()
    e.submit("A", "1", X, B, 10, price=100)
    e.submit("B", "2", X, B, 10, price=100)
    (r,) = e.do(ReplaceOrder("A", X, 1, qty=5))
    assert isinstance(r, OrderReplaced) and r.keeps_priority
    assert [o.order_id for o in e.book(X).bids[0].orders] == [1, 2]


def test_increasing_quantity_loses_time_priority() -> None:
    """A replace that raises the quantity sends the order to the back of its level."""
    e = h()
    e.submit("A", "1", X, B, 10, price=100)
    e.submit("B", "2", X, B, 10, price=100)
    (r,) = e.do(ReplaceOrder("A", X, 1, qty=20))
    assert not r.keeps_priority
    assert [o.order_id for o in e.book(X).bids[0].orders] == [2, 1]


def test_price_change_loses_priority_and_can_trade() -> None:
    """A replace to a crossing price loses priority and matches like a new order."""
    e = h()
    e.submit("A", "1", X, B, 10, price=99)
    e.submit("B", "2", X, S, 4, price=100)
    ev = e.do(ReplaceOrder("A", X, 1, price=100))
    assert not of(ev, OrderReplaced)[0].keeps_priority
    assert trades(ev) == [(100, 4, 1, 2)]
    assert e.book(X).bids[0].qty == 6


def test_replace_below_filled_quantity_is_rejected() -> None:
    """A replace cannot set the total quantity at or below what already filled."""
    e = h()
    e.submit("A", "1", X, B, 10, price=100)
    e.submit("B", "2", X, S, 6, price=100)
    (r,) = e.do(ReplaceOrder("A", X, 1, qty=6))
    assert isinstance(r, OrderRejected) and r.reason is RejectReason.INVALID_QTY


def test_stp_cancel_newest_cancels_the_incoming_order() -> None:
    """STP CANCEL_NEWEST: the incoming order's rest is cancelled, the resting order stays."""
    e = h()
    e.submit("A", "1", X, S, 10, price=100)
    ev = e.submit("A", "2", X, B, 10, price=100, stp=SelfTradePrevention.CANCEL_NEWEST)
    assert not trades(ev)
    assert [(c.order_id, c.reason) for c in of(ev, OrderCancelled)] == [(2, CancelReason.STP)]
    assert e.book(X).asks[0].qty == 10


def test_stp_cancel_oldest_cancels_resting_and_keeps_matching() -> None:
    """STP CANCEL_OLDEST: own resting orders are cancelled and matching goes on behind them."""
    e = h()
    e.submit("A", "1", X, S, 10, price=100)
    e.submit("B", "2", X, S, 10, price=100)
    ev = e.submit("A", "3", X, B, 10, price=100, stp=SelfTradePrevention.CANCEL_OLDEST)
    assert [c.order_id for c in of(ev, OrderCancelled)] == [1]
    assert trades(ev) == [(100, 10, 3, 2)]


def test_stp_cancel_both() -> None:
    """STP CANCEL_BOTH: the resting and the incoming order are both cancelled."""
    e = h()
    e.submit("A", "1", X, S, 10, price=100)
    ev = e.submit("A", "2", X, B, 10, price=100, stp=SelfTradePrevention.CANCEL_BOTH)
    assert [c.order_id for c in of(ev, OrderCancelled)] == [1, 2] and not trades(ev)


def test_stp_decrement_reduces_both_without_a_trade() -> None:
    """STP DECREMENT: both orders lose the smaller quantity, no trade prints."""
    e = h()
    e.submit("A", "1", X, S, 4, price=100)
    ev = e.submit("A", "2", X, B, 10, price=100, stp=SelfTradePrevention.DECREMENT)
    assert [(r.order_id, r.qty, r.leaves) for r in of(ev, OrderReduced)] == [(1, 4, 0), (2, 4, 6)]
    assert not trades(ev) and e.book(X).bids[0].qty == 6 and not e.book(X).asks


def test_cancel_all_orders_cancels_every_open_order_of_the_account() -> None:
    """The kill switch cancels all of an account's orders, resting and stops, and no one else's."""
    e = h()
    e.submit("A", "1", X, B, 10, price=100)
    e.submit("A", "2", X, S, 10, price=105, order_type=OrderType.STOP_LIMIT, stop_price=90)
    e.submit("B", "3", X, B, 10, price=99)
    ev = e.do(CancelAllOrders("A"))
    assert [(c.order_id, c.reason) for c in of(ev, OrderCancelled)] == [
        (1, CancelReason.KILL_SWITCH),
        (2, CancelReason.KILL_SWITCH),
    ]
    assert [o.order_id for o in e.engine.open_orders()] == [3]


def test_daily_limit_bounds_a_market_order() -> None:
    """Resting orders outside the daily limits (after a new base price) are not reached by a market order."""
    from system.engine import PriceLimits, SetReferencePrice

    e = h(reference_price=100, price_limits=PriceLimits(percent_bp=1000))
    e.submit("A", "1", X, S, 10, price=110)
    e.do(SetReferencePrice(X, 90))  # limits now 81..99
    ev = e.submit("B", "2", X, B, 10, order_type=OrderType.MARKET)
    assert not trades(ev) and of(ev, OrderCancelled)[0].reason is CancelReason.MARKET_REMAINDER
