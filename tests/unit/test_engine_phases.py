"""Trading phases and call auctions (itayose), DAY/ATO/ATC expiry, halts and breaks."""

from __future__ import annotations

from system.engine import (
    AuctionUncrossed,
    CancelOrder,
    CancelReason,
    ChangePhase,
    ExpireReason,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderRejected,
    OrderType,
    Phase,
    PhaseChanged,
    RejectReason,
    Side,
    TimeInForce,
    TradeExecuted,
)
from system.engine.auction import uncross_price
from system.engine.testkit import EngineHarness, instrument

X, Y = "XTKS:7203", "XTKS:6758"
B, S = Side.BUY, Side.SELL
MKT = OrderType.MARKET


def of(events: list[object], kind: type) -> list:
    return [e for e in events if isinstance(e, kind)]


def pre_open(**kw: object) -> EngineHarness:
    return EngineHarness(instrument(X, **kw), instrument(Y), default_phase=Phase.PRE_OPEN)


def test_itayose_worked_by_hand() -> None:
    """The opening price maximises volume: the example in docs/matching.md, fill by fill.

    Reference 100. Buys: market 3, 101x5, 100x4, 99x6. Sells: market 2, 98x3, 99x4, 100x5, 102x6.
      p     B(p)  S(p)  V(p)
      98     18     5     5
      99     18     9     9
      100    12    14    12   <- most volume; imbalance 2 on the sell side
      101     8    14     8
      102     3    20     3
    """
    e = pre_open(reference_price=100)
    e.submit("M", "mb", X, B, 3, order_type=MKT)  # 1
    e.submit("b", "b1", X, B, 5, price=101)  # 2
    e.submit("b", "b2", X, B, 4, price=100)  # 3
    e.submit("b", "b3", X, B, 6, price=99)  # 4
    e.submit("N", "ms", X, S, 2, order_type=MKT)  # 5
    e.submit("s", "s1", X, S, 3, price=98)  # 6
    e.submit("s", "s2", X, S, 4, price=99)  # 7
    e.submit("s", "s3", X, S, 5, price=100)  # 8
    e.submit("s", "s4", X, S, 6, price=102)  # 9
    assert e.book(X).crossed()  # allowed before the open
    e.do(ChangePhase("XTKS", Phase.OPENING_AUCTION))
    ev = e.do(ChangePhase("XTKS", Phase.CONTINUOUS))
    fills = [
        (t.qty, t.buy_order_id, t.sell_order_id, t.price) for t in of(ev, TradeExecuted) if t.instrument == X
    ]
    assert fills == [
        (2, 1, 5, 100),
        (1, 1, 6, 100),
        (2, 2, 6, 100),
        (3, 2, 7, 100),
        (1, 3, 7, 100),
        (3, 3, 8, 100),
    ]
    (u,) = [a for a in of(ev, AuctionUncrossed) if a.instrument == X]
    assert (u.price, u.qty, u.imbalance_side, u.imbalance_qty, u.phase) == (
        100,
        12,
        S,
        2,
        Phase.OPENING_AUCTION,
    )
    book = e.book(X)
    assert [(lv.price, lv.qty) for lv in book.bids] == [(99, 6)]
    assert [(lv.price, lv.qty) for lv in book.asks] == [(100, 2), (102, 6)]


def test_uncross_prefers_least_imbalance_when_volume_ties() -> None:
    """Rule 2: equal volume at 100 and 101; 100 leaves no imbalance, 101 leaves 5."""
    u = uncross_price([(101, 10)], [(100, 10), (101, 5)], 0, 0, None)
    assert (u.price, u.qty, u.imbalance_qty) == (100, 10, 0)


def test_uncross_prefers_the_price_nearest_the_reference() -> None:
    """Rule 3: volume and imbalance tie over 100..102, so the reference price wins (clamped to the range)."""
    assert uncross_price([(102, 10)], [(100, 10)], 0, 0, 101).price == 101
    assert uncross_price([(102, 10)], [(100, 10)], 0, 0, 105).price == 102
    assert uncross_price([(102, 10)], [(100, 10)], 0, 0, 90).price == 100


def test_uncross_final_tie_break_is_the_lowest_price() -> None:
    """Rule 4: with no reference price and everything else equal, the lowest candidate wins."""
    assert uncross_price([(102, 10)], [(100, 10)], 0, 0, None).price == 100


def test_pre_open_accepts_orders_without_matching() -> None:
    """In PRE_OPEN a crossing order rests; nothing trades until the auction ends."""
    e = pre_open()
    e.submit("A", "1", X, S, 10, price=100)
    ev = e.submit("B", "2", X, B, 10, price=101)
    assert not of(ev, TradeExecuted) and e.book(X).crossed()


def test_zero_length_call_uncrosses_when_leaving_the_auction() -> None:
    """OPENING_AUCTION then CONTINUOUS at the same instant uncrosses once, on leaving the auction."""
    e = pre_open(reference_price=100)
    e.submit("A", "1", X, S, 10, price=100)
    e.submit("B", "2", X, B, 10, price=101)
    assert not of(e.do(ChangePhase("XTKS", Phase.OPENING_AUCTION)), TradeExecuted)
    ev = e.do(ChangePhase("XTKS", Phase.CONTINUOUS))
    assert [(t.price, t.qty) for t in of(ev, TradeExecuted)] == [(100, 10)]
    assert of(ev, PhaseChanged)[0].phase is Phase.CONTINUOUS


def test_leaving_an_auction_with_nothing_to_cross_reports_zero() -> None:
    """An auction that finds no crossing orders reports qty 0 and no price."""
    e = pre_open()
    e.submit("A", "1", X, B, 10, price=99)
    e.do(ChangePhase("XTKS", Phase.OPENING_AUCTION))
    ev = e.do(ChangePhase("XTKS", Phase.CONTINUOUS))
    assert [(u.price, u.qty) for u in of(ev, AuctionUncrossed) if u.instrument == X] == [(None, 0)]


def test_unfilled_market_orders_are_cancelled_after_the_auction() -> None:
    """Market orders take part in the auction first; what does not fill is cancelled."""
    e = pre_open(reference_price=100)
    e.submit("A", "1", X, B, 10, order_type=MKT)
    e.submit("B", "2", X, S, 4, price=100)
    e.do(ChangePhase("XTKS", Phase.OPENING_AUCTION))
    ev = e.do(ChangePhase("XTKS", Phase.CONTINUOUS))
    assert [(t.price, t.qty) for t in of(ev, TradeExecuted)] == [(100, 4)]
    assert [(c.order_id, c.qty, c.reason) for c in of(ev, OrderCancelled)] == [
        (1, 6, CancelReason.MARKET_REMAINDER)
    ]


def test_at_the_open_order_that_does_not_trade_expires() -> None:
    """An ATO order that did not (fully) trade in the opening auction expires after it."""
    e = pre_open(reference_price=100)
    e.submit("A", "1", X, B, 10, price=100, tif=TimeInForce.ATO)
    e.submit("B", "2", X, S, 4, price=100)
    e.do(ChangePhase("XTKS", Phase.OPENING_AUCTION))
    ev = e.do(ChangePhase("XTKS", Phase.CONTINUOUS))
    assert [t.qty for t in of(ev, TradeExecuted)] == [4]
    assert [(x.order_id, x.qty, x.reason) for x in of(ev, OrderExpired)] == [(1, 6, ExpireReason.ATO)]
    assert not e.book(X).bids


def test_at_the_open_order_is_rejected_in_continuous_trading() -> None:
    """ATO orders are taken only before the open."""
    e = EngineHarness(instrument(X))
    (r,) = e.submit("A", "1", X, B, 10, price=100, tif=TimeInForce.ATO)
    assert isinstance(r, OrderRejected) and r.reason is RejectReason.WRONG_PHASE


def test_at_the_close_order_waits_for_the_closing_auction() -> None:
    """An ATC order sent in continuous trading does not trade until the closing auction."""
    e = EngineHarness(instrument(X, reference_price=100))
    e.submit("A", "1", X, B, 10, price=100, tif=TimeInForce.ATC)
    ev = e.submit("B", "2", X, S, 10, price=100)
    assert not of(ev, TradeExecuted) and not e.book(X).bids
    e.do(ChangePhase("XTKS", Phase.CLOSING_AUCTION))
    assert e.book(X).bids[0].orders[0].order_id == 1
    ev = e.do(ChangePhase("XTKS", Phase.CLOSED))
    assert [(t.price, t.qty, t.buy_order_id) for t in of(ev, TradeExecuted)] == [(100, 10, 1)]


def test_at_the_close_order_does_not_trade_against_a_resting_order_on_entry() -> None:
    """An ATC order sent in continuous trading against a resting order that it crosses waits for the
    closing auction too, and trades there once (regression: it used to fill on entry and still rejoin
    the book at the close, so the uncross traded a closed order and the command failed)."""
    e = EngineHarness(instrument(X, reference_price=100))
    e.submit("A", "b1", X, B, 1, price=97)
    ev = e.submit("A", "s1", X, S, 1, price=97, tif=TimeInForce.ATC)
    assert [type(x) for x in ev] == [OrderAccepted] and not e.book(X).asks
    e.submit("A", "b2", X, B, 1, price=97)
    e.do(ChangePhase("XTKS", Phase.CLOSING_AUCTION))
    e.submit("A", "s2", X, S, 1, price=97)
    ev = e.do(ChangePhase("XTKS", Phase.PRE_OPEN))
    trades = [(t.buy_order_id, t.sell_order_id, t.price, t.qty) for t in of(ev, TradeExecuted)]
    assert trades == [(1, 2, 97, 1), (3, 4, 97, 1)]
    assert not e.engine.open_orders()
    assert e.refold().orders == e.engine.orders


def test_at_the_close_leftovers_expire_after_the_closing_auction() -> None:
    """What is left of an ATC order after the closing uncross expires."""
    e = EngineHarness(instrument(X, reference_price=100))
    e.submit("A", "1", X, B, 10, price=99, tif=TimeInForce.ATC)
    e.do(ChangePhase("XTKS", Phase.CLOSING_AUCTION))
    ev = e.do(ChangePhase("XTKS", Phase.CLOSED))
    assert [(x.order_id, x.reason) for x in of(ev, OrderExpired)] == [(1, ExpireReason.ATC)]


def test_day_orders_expire_at_the_close_and_gtc_orders_stay() -> None:
    """Entering CLOSED expires DAY orders; GTC orders rest into the next session."""
    e = EngineHarness(instrument(X))
    e.submit("A", "day", X, B, 10, price=99)
    e.submit("A", "gtc", X, B, 10, price=98, tif=TimeInForce.GTC)
    e.submit("A", "stop", X, S, 10, order_type=OrderType.STOP, stop_price=90)
    ev = e.do(ChangePhase("XTKS", Phase.CLOSED))
    assert [(x.order_id, x.reason) for x in of(ev, OrderExpired)] == [
        (1, ExpireReason.DAY),
        (3, ExpireReason.DAY),
    ]
    assert [o.order_id for o in e.engine.open_orders()] == [2]


def test_orders_are_rejected_while_closed() -> None:
    """A closed venue rejects new orders with WRONG_PHASE; cancels still work."""
    e = EngineHarness(instrument(X))
    e.submit("A", "gtc", X, B, 10, price=98, tif=TimeInForce.GTC)
    e.do(ChangePhase("XTKS", Phase.CLOSED))
    (r,) = e.submit("A", "1", X, B, 10, price=100)
    assert isinstance(r, OrderRejected) and r.reason is RejectReason.WRONG_PHASE
    assert isinstance(e.do(CancelOrder("A", X, 1))[0], OrderCancelled)


def test_ioc_is_rejected_outside_continuous_trading() -> None:
    """IOC and FOK need continuous trading."""
    e = pre_open()
    (r,) = e.submit("A", "1", X, B, 10, price=100, tif=TimeInForce.IOC)
    assert r.reason is RejectReason.WRONG_PHASE


def test_break_accepts_orders_and_uncrosses_on_resuming() -> None:
    """The lunch break takes orders without matching; a crossed book uncrosses when trading resumes."""
    e = EngineHarness(instrument(X, reference_price=100))
    e.do(ChangePhase("XTKS", Phase.BREAK))
    e.submit("A", "1", X, S, 10, price=100)
    assert not of(e.submit("B", "2", X, B, 10, price=100), TradeExecuted)
    ev = e.do(ChangePhase("XTKS", Phase.CONTINUOUS))
    assert [(t.price, t.qty) for t in of(ev, TradeExecuted)] == [(100, 10)]


def test_instrument_halt_overrides_the_venue_phase() -> None:
    """Halting one instrument stops its matching while the rest of the venue trades."""
    e = EngineHarness(instrument(X, reference_price=100), instrument(Y))
    e.do(ChangePhase("XTKS", Phase.HALTED, instrument=X, reason="news"))
    e.submit("A", "1", X, S, 10, price=100)
    assert not of(e.submit("B", "2", X, B, 10, price=100), TradeExecuted)
    e.submit("A", "3", Y, S, 10, price=100)
    assert of(e.submit("B", "4", Y, B, 10, price=100), TradeExecuted)
    ev = e.do(ChangePhase("XTKS", Phase.CONTINUOUS, instrument=X))
    assert [(t.price, t.qty) for t in of(ev, TradeExecuted)] == [(100, 10)]
    assert e.engine.phase(X) is Phase.CONTINUOUS


def test_phase_changes_are_per_venue() -> None:
    """A venue's phase change leaves other venues alone."""
    e = EngineHarness(instrument(X), instrument("XNAS:AAPL"))
    e.do(ChangePhase("XTKS", Phase.CLOSED))
    assert e.engine.phase(X) is Phase.CLOSED and e.engine.phase("XNAS:AAPL") is Phase.CONTINUOUS
    assert isinstance(e.submit("A", "1", "XNAS:AAPL", B, 1, price=1)[0], OrderAccepted)
