"""The market-data stream equals the one of a plain reference projection that diffs everything."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from system.engine import (
    BandAction,
    CancelAllOrders,
    CancelOrder,
    ChangePhase,
    ExpireDue,
    OrderType,
    Phase,
    PriceBand,
    ReplaceOrder,
    Side,
    SubmitOrder,
    TimeInForce,
)
from system.engine.book import LEVEL, Book
from system.engine.events import OrderAccepted, OrderReplaced, StopTriggered, TradeExecuted
from system.engine.fold import EngineState
from system.engine.marketdata import LevelUpdate, OrderUpdate, QuoteUpdate, TradePrint, Update
from system.engine.testkit import EngineHarness, instrument
from system.eventlog.codec import LoggedEvent
from system.runtime.projection import Projection

X, Y = "XTKS:7203", "XTKS:6758"
BAND = PriceBand(percent_bp=300, window_ns=2_000, action=BandAction.HALT, halt_ns=1_500)


class ReferenceMarketData(Projection):
    """The obvious (slow) way: keep the published L1/L2/L3 pictures and, after each event, compare
    everything the event touched (every level and order of the books for phase changes and halts)
    with them. Output order per event: L3, then L2, then L1 by instrument, then the trade."""

    def __init__(self) -> None:
        super().__init__()
        self.state = EngineState()
        self.fold = {t.name: fns[0] for t, fns in self.state.appliers().items()}  # type: ignore[attr-defined]
        self.levels: dict[tuple[str, bool, int], tuple[int, int]] = {}
        self.orders: dict[int, tuple[str, bool, int, int]] = {}
        self.quotes: dict[str, tuple[int | None, int, int | None, int]] = {}
        self.updates: list[Update] = []

    def handle(self, ev: LoggedEvent) -> None:
        if ev.seq <= self.position:
            return
        self.position = ev.seq
        fn = self.fold.get(ev.type)
        if fn is None:
            return
        rec, st_ = ev.record, self.state
        ids = [rec.buy_order_id, rec.sell_order_id] if isinstance(rec, TradeExecuted) else []
        if ev.type in (
            "OrderCancelled",
            "OrderExpired",
            "OrderReduced",
            "OrderReplaced",
            "IcebergReplenished",
        ):
            ids = [getattr(rec, "order_id")]  # noqa: B009 (Record has no order_id for mypy)
        touched = [st_.orders[i] for i in ids if i in st_.orders]
        fn(rec)
        if isinstance(rec, OrderAccepted | StopTriggered | OrderReplaced):
            o = st_.orders.get(rec.order_id)
            touched += [o] if o is not None and o.price is not None else []
        books: list[Book] = []
        if ev.type in ("PhaseChanged", "InstrumentResumed", "InstrumentHalted"):
            inst, venue = getattr(rec, "instrument", None), getattr(rec, "venue", None)
            books = [
                b for _, b in sorted(st_.books.items()) if b.id == inst or (inst is None and b.venue == venue)
            ]
        seq = ev.seq
        moved = ev.type == "IcebergReplenished" or (isinstance(rec, OrderReplaced) and not rec.keeps_priority)
        order_ids = [o.id for o in touched]
        level_keys: list[tuple[str, bool, int]] = [
            (o.inst, o.is_buy, o.price) for o in touched if o.price is not None
        ]
        for b in books:
            order_ids += [oid for oid, p in self.orders.items() if p[0] == b.id]
            order_ids += [o.id for o in st_.orders.values() if o.inst == b.id and o.where == LEVEL]
            level_keys += sorted(k for k in self.levels if k[0] == b.id)
            level_keys += [(b.id, True, p) for p in sorted(b.bids.levels)]
            level_keys += [(b.id, False, p) for p in sorted(b.asks.levels)]
        for oid in dict.fromkeys(order_ids):
            o = st_.orders.get(oid)
            now = None
            if o is not None and o.where == LEVEL and o.price is not None:
                now = (o.inst, o.is_buy, o.price, o.visible)
            was = self.orders.pop(oid, None)
            if was is not None and (now is None or moved or was[2] != now[2]):
                self.updates.append(OrderUpdate(seq, was[0], "delete", oid, side(was[1]), was[2], 0))
                was = None
            if now is not None:
                if was != now:
                    action = "add" if was is None else "update"
                    self.updates.append(OrderUpdate(seq, now[0], action, oid, side(now[1]), now[2], now[3]))
                self.orders[oid] = now
        for key in dict.fromkeys(level_keys):
            inst, is_bid, price = key
            b = st_.books[inst]
            lvl = (b.bids if is_bid else b.asks).levels.get(price)
            now_l = (lvl.shown, lvl.count) if lvl is not None and lvl.count else (0, 0)
            if self.levels.get(key, (0, 0)) != now_l:
                self.updates.append(LevelUpdate(seq, inst, side(is_bid), price, *now_l))
                if now_l == (0, 0):
                    del self.levels[key]
                else:
                    self.levels[key] = now_l
        for inst in sorted({k[0] for k in level_keys} | {b.id for b in books}):
            b = st_.books[inst]
            bid, ask = b.bids.best(), b.asks.best()
            q = (bid, b.bids.levels[bid].shown if bid else 0, ask, b.asks.levels[ask].shown if ask else 0)
            if self.quotes.get(inst, (None, 0, None, 0)) != q:
                self.quotes[inst] = q
                self.updates.append(QuoteUpdate(seq, inst, *q))
        if isinstance(rec, TradeExecuted):
            self.updates.append(
                TradePrint(seq, rec.trade_id, rec.instrument, rec.price, rec.qty, rec.aggressor, rec.time,
                           rec.cross_instrument)
            )  # fmt: skip


def side(is_bid: bool) -> Side:
    return Side.BUY if is_bid else Side.SELL


insts = st.sampled_from([X, Y])
sides = st.sampled_from([Side.BUY, Side.SELL])
accounts = st.sampled_from(["A", "B"])
prices = st.integers(97, 103)


def submit(n: int, d: Any) -> SubmitOrder:
    kind = d(st.sampled_from(["limit", "limit", "limit", "iceberg", "market", "stop", "stop_limit", "atc"]))
    inst, s, acct, qty, price = d(insts), d(sides), d(accounts), d(st.integers(1, 6)), d(prices)
    if kind == "market":
        return SubmitOrder(acct, f"c{n}", inst, s, qty, order_type=OrderType.MARKET)
    if kind in ("stop", "stop_limit"):
        limit = kind == "stop_limit"
        otype = OrderType.STOP_LIMIT if limit else OrderType.STOP
        return SubmitOrder(
            acct, f"c{n}", inst, s, qty, order_type=otype, stop_price=price, price=price if limit else None
        )
    tif = (
        TimeInForce.ATC
        if kind == "atc"
        else d(st.sampled_from([TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC]))
    )
    display = 1 if kind == "iceberg" and qty > 1 else 0
    return SubmitOrder(acct, f"c{n}", inst, s, qty, price=price, tif=tif, display_qty=display)


@st.composite
def commands(d: Any) -> list[tuple[int, Any]]:
    out: list[tuple[int, Any]] = []
    t = 1_000
    for n in range(d(st.integers(1, 40))):
        kind = d(st.sampled_from(["submit"] * 5 + ["cancel", "replace", "replace", "phase", "time", "kill"]))
        if kind == "submit":
            cmd: Any = submit(n, d)
        elif kind == "cancel":
            cmd = CancelOrder(d(accounts), d(insts), d(st.integers(1, n + 1)))
        elif kind == "replace":
            price = d(st.one_of(st.none(), prices))
            cmd = ReplaceOrder(
                d(accounts), d(insts), d(st.integers(1, n + 1)), qty=d(st.integers(1, 8)), price=price
            )
        elif kind == "phase":
            phase = d(
                st.sampled_from(
                    [
                        Phase.PRE_OPEN,
                        Phase.OPENING_AUCTION,
                        Phase.CONTINUOUS,
                        Phase.CLOSING_AUCTION,
                        Phase.CLOSED,
                        Phase.BREAK,
                    ]
                )
            )
            cmd = ChangePhase("XTKS", phase, instrument=d(st.one_of(st.none(), insts)))
        elif kind == "time":
            t += d(st.integers(1, 2_000))
            cmd = ExpireDue()
        else:
            cmd = CancelAllOrders(d(accounts))
        out.append((t, cmd))
    return out


def run(
    cmds: list[tuple[int, Any]], subscribe_at: int
) -> tuple[EngineHarness, list[Update], ReferenceMarketData]:
    h = EngineHarness(instrument(X, reference_price=100), instrument(Y, reference_price=100, price_band=BAND))
    ref = ReferenceMarketData()
    ref.rebuild(h.store)
    h.runtime.projections.append(ref)
    got: list[Update] = []
    subscribe: Callable[[Update], None] = got.append
    if subscribe_at == 0:
        h.marketdata.subscribe(subscribe)
    for i, (t, cmd) in enumerate(cmds, 1):
        h.at(t, cmd)
        if i == subscribe_at:
            h.marketdata.subscribe(subscribe)
            del ref.updates[:]
    return h, got, ref


# Found by hypothesis: an ATC order that crossed a resting order on entry used to fill at once and
# still rejoin the book at the closing auction, whose uncross then traded a closed order.
ATC_ON_ENTRY = [
    (1_000, SubmitOrder("A", "b1", X, Side.BUY, 1, price=97)),
    (1_000, SubmitOrder("A", "s1", X, Side.SELL, 1, price=97, tif=TimeInForce.ATC)),
    (1_000, SubmitOrder("A", "b2", X, Side.BUY, 1, price=97)),
    (1_000, ChangePhase("XTKS", Phase.CLOSING_AUCTION)),
    (1_000, SubmitOrder("A", "s2", X, Side.SELL, 1, price=97)),
    (1_001, ExpireDue()),
    (1_001, ChangePhase("XTKS", Phase.PRE_OPEN)),
]


@settings(max_examples=150, deadline=None)
@given(cmds=commands(), late=st.integers(0, 20))
@example(cmds=ATC_ON_ENTRY, late=0)
def test_incremental_stream_equals_the_reference_diff(cmds: list[tuple[int, Any]], late: int) -> None:
    """Every L1/L2/L3 update and trade print, in order, equals the reference projection's, also
    for a subscriber that joins part-way through the day."""
    h, got, ref = run(cmds, late)
    assert got == (ref.updates if late <= len(cmds) else [])
    for inst in (X, Y):
        assert h.marketdata.book(inst) == h.engine.book(inst)
