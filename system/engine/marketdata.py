"""Market data as read models over the log: L1 (best bid/offer), L2 (depth by level), L3 (order
by order, in priority order) and the trade tape, with incremental updates and full snapshots.

``MarketData`` folds the engine's events with the engine's own appliers (``EngineState``), so the
views can never disagree with the matching engine; after each event it diffs what the event
touched against what it last published and sends the changes to subscribers:

    md = MarketData()
    md.subscribe(print)             # QuoteUpdate, LevelUpdate, OrderUpdate, TradePrint
    md.book("XTKS:7203")            # BookView: levels and orders in priority order (L3)
    md.depth("XTKS:7203", 5)        # L2 snapshot
    md.bbo("XTKS:7203")             # L1 snapshot
    md.trades("XTKS:7203")          # the tape
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from system.engine.book import LEVEL, Book, Order
from system.engine.events import (
    IcebergReplenished,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderReduced,
    OrderReplaced,
    StopTriggered,
    TradeExecuted,
)
from system.engine.fold import EngineState
from system.engine.orders import Side
from system.engine.phases import Phase
from system.engine.views import BookView, LevelView, order_view
from system.eventlog.codec import LoggedEvent
from system.eventlog.store import EventStore
from system.runtime.projection import Projection


class QuoteUpdate(msgspec.Struct, frozen=True):
    """L1: the best bid and offer after the entry at ``seq`` (None: that side is empty)."""

    seq: int
    instrument: str
    bid: int | None
    bid_qty: int
    ask: int | None
    ask_qty: int


class LevelUpdate(msgspec.Struct, frozen=True):
    """L2: a level's displayed quantity and order count; ``qty`` 0 means the level is gone."""

    seq: int
    instrument: str
    side: Side
    price: int
    qty: int
    count: int


class OrderUpdate(msgspec.Struct, frozen=True):
    """L3: ``action`` is "add" (at the back of its level), "update" (same place) or "delete"."""

    seq: int
    instrument: str
    action: str
    order_id: int
    side: Side
    price: int
    visible: int


class TradePrint(msgspec.Struct, frozen=True):
    seq: int
    trade_id: int
    instrument: str
    price: int
    qty: int
    aggressor: Side | None
    time: int
    cross_instrument: str | None = None


class DepthSnapshot(msgspec.Struct, frozen=True):
    """A full L2 picture at ``seq``: (price, displayed qty, count), best first."""

    seq: int
    instrument: str
    phase: Phase
    bids: list[tuple[int, int, int]]
    asks: list[tuple[int, int, int]]


Update = QuoteUpdate | LevelUpdate | OrderUpdate | TradePrint

# Events after which every level of the instrument is re-diffed (orders may enter or leave in bulk).
_WHOLE_BOOK = frozenset({"PhaseChanged", "InstrumentResumed", "InstrumentHalted"})
_MOVES = (IcebergReplenished,)  # an order that goes to the back of its level: delete + add


class MarketData(Projection):
    name = "marketdata"

    def __init__(self, max_tape: int = 100_000) -> None:
        super().__init__()
        self.state = EngineState()
        self._fold: dict[str, Callable[[Any], None]] = {
            t.name: fns[0]  # type: ignore[attr-defined]
            for t, fns in self.state.appliers().items()
        }
        self._subscribers: list[Callable[[Update], None]] = []
        self._levels: dict[str, dict[tuple[bool, int], tuple[int, int]]] = {}  # published L2
        self._orders: dict[int, tuple[str, bool, int, int]] = {}  # published L3
        self._quotes: dict[str, tuple[int | None, int, int | None, int]] = {}  # published L1
        self._tape: dict[str, list[TradePrint]] = {}
        self.max_tape = max_tape

    def subscribe(self, fn: Callable[[Update], None]) -> None:
        """``fn`` receives every incremental update from now on, in log order."""
        self._subscribers.append(fn)

    # -- folding -------------------------------------------------------------------------------
    def handle(self, ev: LoggedEvent) -> None:
        if ev.seq <= self.position:
            return
        self.position = ev.seq
        fn = self._fold.get(ev.type)
        if fn is None:
            return
        rec = ev.record
        touched_orders = self._orders_of(rec)
        touched_levels: list[tuple[str, bool, int | None]] = [
            (o.inst, o.is_buy, o.price) for o in touched_orders if o.price is not None
        ]
        whole = ev.type in _WHOLE_BOOK
        fn(rec)
        out: list[Update] = []
        instruments: set[str] = {i for i, _, _ in touched_levels}
        if isinstance(rec, OrderAccepted | StopTriggered | OrderReplaced):
            o = self.state.orders.get(rec.order_id)
            if o is not None and o.price is not None:
                touched_orders.append(o)
                touched_levels.append((o.inst, o.is_buy, o.price))
                instruments.add(o.inst)
        books: list[Book] = []
        if whole:
            inst = getattr(rec, "instrument", None)
            if inst is not None:
                books = [self.state.books[inst]]
            else:
                books = [b for _, b in sorted(self.state.books.items()) if b.venue == rec.venue]  # type: ignore[attr-defined]
            instruments.update(b.id for b in books)
        self._diff_orders(ev.seq, rec, touched_orders, books, out)
        self._diff_levels(ev.seq, touched_levels, books, out)
        for inst in sorted(instruments):
            self._diff_quote(ev.seq, inst, out)
        if isinstance(rec, TradeExecuted):
            tp = TradePrint(
                ev.seq,
                rec.trade_id,
                rec.instrument,
                rec.price,
                rec.qty,
                rec.aggressor,
                rec.time,
                rec.cross_instrument,
            )
            tape = self._tape.setdefault(rec.instrument, [])
            tape.append(tp)
            if len(tape) > self.max_tape:
                del tape[: len(tape) - self.max_tape]
            out.append(tp)
        for u in out:
            for s in self._subscribers:
                s(u)

    def _orders_of(self, rec: Any) -> list[Order]:
        orders = self.state.orders
        if isinstance(rec, TradeExecuted):
            ids = [rec.buy_order_id, rec.sell_order_id]
        elif isinstance(
            rec, OrderCancelled | OrderExpired | OrderReduced | OrderReplaced | IcebergReplenished
        ):
            ids = [rec.order_id]
        else:
            return []
        return [orders[i] for i in ids if i in orders]

    def _diff_orders(
        self, seq: int, rec: Any, touched: list[Order], books: list[Book], out: list[Update]
    ) -> None:
        pub = self._orders
        ids = [o.id for o in touched]
        for b in books:
            ids.extend(oid for oid, p in pub.items() if p[0] == b.id)
            ids.extend(o.id for o in self.state.orders.values() if o.inst == b.id and o.where == LEVEL)
        moved = isinstance(rec, _MOVES) or (isinstance(rec, OrderReplaced) and not rec.keeps_priority)
        seen: set[int] = set()
        for oid in ids:
            if oid in seen:
                continue
            seen.add(oid)
            o = self.state.orders.get(oid)
            now = (
                None
                if o is None or o.where != LEVEL or o.price is None
                else (o.inst, o.is_buy, o.price, o.visible)
            )
            before = pub.get(oid)
            if before is not None and (now is None or moved or before[2] != now[2]):
                out.append(OrderUpdate(seq, before[0], "delete", oid, _side(before[1]), before[2], 0))
                del pub[oid]
                before = None
            if now is None:
                continue
            if before is None:
                out.append(OrderUpdate(seq, now[0], "add", oid, _side(now[1]), now[2], now[3]))
            elif before != now:
                out.append(OrderUpdate(seq, now[0], "update", oid, _side(now[1]), now[2], now[3]))
            pub[oid] = now

    def _diff_levels(
        self, seq: int, touched: list[tuple[str, bool, int | None]], books: list[Book], out: list[Update]
    ) -> None:
        keys = [(i, b, p) for i, b, p in touched if p is not None]
        for bk in books:
            pub = self._levels.get(bk.id, {})
            keys.extend((bk.id, is_bid, p) for is_bid, p in sorted(pub))
            keys.extend((bk.id, True, p) for p in sorted(bk.bids.levels))
            keys.extend((bk.id, False, p) for p in sorted(bk.asks.levels))
        seen: set[tuple[str, bool, int]] = set()
        for inst, is_bid, price in keys:
            if (inst, is_bid, price) in seen:
                continue
            seen.add((inst, is_bid, price))
            book = self.state.books[inst]
            lvl = (book.bids if is_bid else book.asks).levels.get(price)
            now = (lvl.shown, lvl.count) if lvl is not None and lvl.count else (0, 0)
            pub = self._levels.setdefault(inst, {})
            if pub.get((is_bid, price), (0, 0)) != now:
                out.append(LevelUpdate(seq, inst, _side(is_bid), price, now[0], now[1]))
                if now == (0, 0):
                    pub.pop((is_bid, price), None)
                else:
                    pub[(is_bid, price)] = now

    def _diff_quote(self, seq: int, inst: str, out: list[Update]) -> None:
        q = self._bbo_tuple(inst)
        if self._quotes.get(inst, (None, 0, None, 0)) != q:
            self._quotes[inst] = q
            out.append(QuoteUpdate(seq, inst, *q))

    def _bbo_tuple(self, inst: str) -> tuple[int | None, int, int | None, int]:
        book = self.state.books[inst]
        b, a = book.bids.best(), book.asks.best()
        return (
            b,
            book.bids.levels[b].shown if b is not None else 0,
            a,
            book.asks.levels[a].shown if a is not None else 0,
        )

    # -- queries (full snapshots) -----------------------------------------------------------------
    def instruments(self) -> list[str]:
        return sorted(self.state.books)

    def bbo(self, instrument: str) -> QuoteUpdate:
        return QuoteUpdate(self.position, instrument, *self._bbo_tuple(instrument))

    def depth(self, instrument: str, levels: int | None = None) -> DepthSnapshot:
        book = self.state.books[instrument]

        def side(s: Any) -> list[tuple[int, int, int]]:
            lv = s.sorted_levels()[:levels] if levels is not None else s.sorted_levels()
            return [(x.price, x.shown, x.count) for x in lv]

        return DepthSnapshot(self.position, instrument, book.phase, side(book.bids), side(book.asks))

    def book(self, instrument: str) -> BookView:
        """L3: every displayed order in priority order, by level."""
        b = self.state.books[instrument]

        def levels(side: Any) -> tuple[LevelView, ...]:
            return tuple(
                LevelView(
                    lv.price, lv.shown, lv.qty, lv.count, tuple(order_view(o) for o in lv.live_orders())
                )
                for lv in side.sorted_levels()
            )

        return BookView(b.id, b.phase, levels(b.bids), levels(b.asks), b.last_price, b.reference)

    def trades(self, instrument: str, last: int | None = None) -> list[TradePrint]:
        tape = self._tape.get(instrument, [])
        return list(tape if last is None else tape[-last:])

    def rebuild(self, store: EventStore, to_seq: int | None = None) -> None:
        for ev in store.read(self.position + 1, to_seq):
            self.handle(ev)


def _side(is_bid: bool) -> Side:
    return Side.BUY if is_bid else Side.SELL


def _register() -> None:
    """Join the composition root's default projections (``system.bootstrap`` imports this module)."""
    try:
        from system.bootstrap import PLUGINS
    except ImportError:  # a build without the composition root
        return
    PLUGINS.projections.append(lambda config: [MarketData()])


_register()
