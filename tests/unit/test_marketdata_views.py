"""Market-data projections: L1, L2, L3 and the tape, incremental and as snapshots."""

from __future__ import annotations

from system.engine import CancelOrder, ReplaceOrder, Side
from system.engine.marketdata import LevelUpdate, MarketData, OrderUpdate, QuoteUpdate, TradePrint
from system.engine.testkit import EngineHarness, instrument

X = "XTKS:7203"
B, S = Side.BUY, Side.SELL


def test_snapshots_show_bbo_depth_and_orders_in_priority() -> None:
    """L1, L2 and L3 snapshots agree with the book."""
    e = EngineHarness(instrument(X))
    e.submit("A", "1", X, B, 10, price=100)
    e.submit("B", "2", X, B, 5, price=100)
    e.submit("C", "3", X, B, 7, price=99)
    e.submit("D", "4", X, S, 30, price=102, display_qty=10)
    md = e.marketdata
    q = md.bbo(X)
    assert (q.bid, q.bid_qty, q.ask, q.ask_qty) == (100, 15, 102, 10)
    d = md.depth(X)
    assert d.bids == [(100, 15, 2), (99, 7, 1)] and d.asks == [(102, 10, 1)]
    assert md.depth(X, 1).bids == [(100, 15, 2)]
    assert [o.order_id for o in md.book(X).bids[0].orders] == [1, 2]
    assert md.book(X) == e.engine.book(X)


def test_incremental_updates_rebuild_the_same_depth() -> None:
    """Applying the L2 updates to an empty picture gives the snapshot, and L3 updates give the orders."""
    e = EngineHarness(instrument(X))
    updates: list[object] = []
    e.marketdata.subscribe(updates.append)
    e.submit("A", "1", X, B, 10, price=100)
    e.submit("B", "2", X, S, 4, price=100)
    e.submit("B", "3", X, S, 8, price=101)
    e.do(ReplaceOrder("B", X, 3, price=102))
    e.submit("A", "4", X, B, 3, price=99)
    e.do(CancelOrder("A", X, 4))
    depth: dict[tuple[Side, int], int] = {}
    orders: dict[int, tuple[int, int]] = {}
    for u in updates:
        if isinstance(u, LevelUpdate):
            if u.qty:
                depth[(u.side, u.price)] = u.qty
            else:
                depth.pop((u.side, u.price), None)
        elif isinstance(u, OrderUpdate):
            if u.action == "delete":
                orders.pop(u.order_id)
            else:
                orders[u.order_id] = (u.price, u.visible)
    snap = e.marketdata.depth(X)
    assert depth == {(B, p): q for p, q, _ in snap.bids} | {(S, p): q for p, q, _ in snap.asks}
    assert orders == {1: (100, 6), 3: (102, 8)}
    tape = [u for u in updates if isinstance(u, TradePrint)]
    assert [(t.price, t.qty, t.aggressor) for t in tape] == [(100, 4, S)]
    assert e.marketdata.trades(X) == tape
    quotes = [u for u in updates if isinstance(u, QuoteUpdate)]
    assert (quotes[-1].bid, quotes[-1].ask) == (100, 102)


def test_projection_rebuilt_from_the_log_equals_the_live_one() -> None:
    """Dropping the projection and folding the log again gives the same views."""
    e = EngineHarness(instrument(X))
    e.submit("A", "1", X, B, 10, price=100)
    e.submit("B", "2", X, S, 4, price=100)
    fresh = MarketData()
    fresh.rebuild(e.store)
    assert fresh.book(X) == e.marketdata.book(X) and fresh.trades(X) == e.marketdata.trades(X)


def test_the_tape_keeps_the_last_max_tape_prints_and_a_snapshot_keeps_the_bound() -> None:
    e = EngineHarness(instrument(X))
    for i in range(7):
        e.submit("A", f"b{i}", X, B, 1, price=100 + i)
        e.submit("B", f"s{i}", X, S, 1, price=100 + i)
    every = e.marketdata.trades(X)
    assert [t.price for t in every] == list(range(100, 107))
    md = MarketData(max_tape=3)
    md.rebuild(e.store)
    assert md.trades(X) == every[-3:]
    assert md.trades(X, 2) == every[-2:] and md.trades(X, 5) == every[-3:] and md.trades(X, 0) == []
    again = MarketData(max_tape=3)
    again.restore_state(md.snapshot_state())
    e.submit("A", "b7", X, B, 1, price=107)
    e.submit("B", "s7", X, S, 1, price=107)
    last = e.store.head().seq
    for ev in e.store.read(last - 3):
        again.handle(ev)
        md.handle(ev)
    assert again.trades(X) == md.trades(X) == e.marketdata.trades(X)[-3:]
