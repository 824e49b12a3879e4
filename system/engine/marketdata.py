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

from array import array
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from system.engine.book import LEVEL, Book, Order
from system.engine.events import (
    IcebergReplenished,
    InstrumentHalted,
    InstrumentResumed,
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
from system.engine.phases import Phase, PhaseChanged
from system.engine.snapshot import restore, snapshot
from system.engine.views import BookView, LevelView, order_view
from system.eventlog.codec import LoggedEvent
from system.eventlog.store import EventStore
from system.runtime.projection import Projection

if TYPE_CHECKING:
    from system.runtime import Runtime


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


class TradePrint(msgspec.Struct, frozen=True, gc=False):
    # Untracked by the cycle collector (scalars and an enum member): the tape keeps up to
    # ``max_tape`` of them per instrument for the whole run.
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

# Events that may move many orders of an instrument (or a venue) at once: every level is compared.
_WHOLE_BOOK: tuple[type, ...] = (PhaseChanged, InstrumentResumed, InstrumentHalted)
# Events about one order that exists before the event.
_ONE_ORDER: tuple[type, ...] = (OrderCancelled, OrderExpired, OrderReduced, OrderReplaced, IcebergReplenished)
# Events after which the named order may sit on a level where it was not before.
_PLACES: tuple[type, ...] = (OrderAccepted, StopTriggered, OrderReplaced)
_EMPTY_QUOTE: tuple[int | None, int, int | None, int] = (None, 0, None, 0)

LevelKey = tuple[str, bool, int]  # (instrument, is_bid, price)
Shown = tuple[str, bool, int, int]  # an order as L3 shows it: (instrument, is_bid, price, visible)


_AGGRESSOR: tuple[Side | None, ...] = (None, Side.BUY, Side.SELL)


def _tape_columns(instrument: str, tape: deque[TradePrint]) -> dict[str, Any]:
    """One instrument's tape as packed columns: a day's tape holds up to ``max_tape`` prints, and
    a list of structs encodes every field name with every print and decodes several times slower."""
    return {
        "instrument": instrument,
        "ints": array("q", [x for t in tape for x in (t.seq, t.trade_id, t.price, t.qty, t.time)]).tobytes(),
        "aggressor": bytes(_AGGRESSOR.index(t.aggressor) for t in tape),
        "cross": [t.cross_instrument for t in tape],
    }


def _tape_rows(cols: dict[str, Any]) -> list[TradePrint]:
    ints = array("q")
    ints.frombytes(cols["ints"])
    inst = str(cols["instrument"])
    return [
        TradePrint(ints[j], ints[j + 1], inst, ints[j + 2], ints[j + 3], _AGGRESSOR[a], ints[j + 4], cross)
        for j, a, cross in zip(range(0, len(ints), 5), cols["aggressor"], cols["cross"], strict=True)
    ]


class MarketData(Projection):
    name = "marketdata"

    def __init__(self, max_tape: int = 100_000) -> None:
        super().__init__()
        self._own = EngineState()
        self._fold: dict[str, Callable[[Any], None]] = self._fold_table(self._own)
        self._subscribers: list[Callable[[Update], None]] = []
        # A bounded deque per instrument: a full list trimmed from the front moved every print
        # once a day's tape held max_tape of them (16 us a trade at 100,000).
        self._tape: dict[str, deque[TradePrint]] = {}
        self.max_tape = max_tape
        self._runtime: Runtime | None = None
        # Restored from a snapshot taken while following: the state is the engine's, whoever
        # restores it next to us (a warm start), until ``follow`` attaches that runtime.
        self._shadow = False

    @staticmethod
    def _fold_table(state: EngineState) -> dict[str, Callable[[Any], None]]:
        return {t.name: fns[0] for t, fns in state.appliers().items()}  # type: ignore[attr-defined]

    def subscribe(self, fn: Callable[[Update], None]) -> None:
        """``fn`` receives every incremental update from now on, in log order."""
        self._detach()  # diffs need a state of our own to compare before and after each event
        self._subscribers.append(fn)

    # -- sharing the engine's state ------------------------------------------------------------
    def follow(self, runtime: Runtime) -> bool:
        """Answer from ``runtime``'s matching engine instead of folding a second copy of it.

        The engine folds the same events with the same appliers, so while this projection is at
        the runtime's position the two states are equal; following saves the second fold on the
        command path (about a quarter of a command's cost). The first query made while the runtime
        holds unflushed commands (inside ``batched()``), and the first ``subscribe``, rebuild a
        state of our own from the log up to ``position`` and stop following: answers never run
        ahead of ``position``. Returns False (and keeps folding) when not at the runtime's head.
        """
        if self._shadow:  # our state is the engine's: attach, and build our own only if needed
            self._shadow = False
            self._runtime = runtime
            if self._subscribers or not self._in_step(runtime):
                self._detach()
                return False
        if self._subscribers or not self._in_step(runtime):
            return False
        self._runtime = runtime
        self._own = EngineState()  # drop the copy: the engine holds the state now
        return True

    def _in_step(self, runtime: Runtime) -> bool:
        return not runtime.has_pending() and runtime.store.head().seq == self.position

    def _detach(self) -> None:
        self._no_shadow()
        rt = self._runtime
        if rt is None:
            return
        self._runtime = None
        engine = rt.component(EngineState)
        own = EngineState(default_phase=engine.default_phase)
        fold = self._fold_table(own)
        for ev in rt.store.read(1, self.position):
            fn = fold.get(ev.type)
            if fn is not None:
                fn(ev.record)
        self._own, self._fold = own, fold

    def _no_shadow(self) -> None:
        if self._shadow:
            raise RuntimeError(
                "MarketData was restored from a snapshot that shares the engine's state: "
                "call follow(runtime) with the runtime restored beside it first"
            )

    @property
    def state(self) -> EngineState:
        """The folded engine state the views read (the runtime's engine while following)."""
        self._no_shadow()
        rt = self._runtime
        if rt is not None:
            if self._in_step(rt):
                return rt.component(EngineState)  # type: ignore[no-any-return]
            self._detach()
        return self._own

    # -- snapshots (a warm start) ---------------------------------------------------------------
    def snapshot_state(self) -> Any:
        """The tape, and the folded engine state unless it is the runtime's (following): a
        restore next to the runtime's engine then shares that one instead of a second copy."""
        engine = None if self._runtime is not None or self._shadow else snapshot(self._own)
        return {"engine": engine, "tape": [_tape_columns(i, self._tape[i]) for i in sorted(self._tape)]}

    def restore_state(self, state: Any) -> None:
        self._runtime = None  # the state is replaced, not rebuilt from the log
        self._shadow = state["engine"] is None
        if not self._shadow:
            restore(self._own, state["engine"])
        self._tape = {
            str(cols["instrument"]): deque(_tape_rows(cols), self.max_tape) for cols in state["tape"]
        }

    # -- folding -------------------------------------------------------------------------------
    def handle(self, ev: LoggedEvent) -> None:
        if ev.seq <= self.position:
            return
        self.position = ev.seq
        if self._runtime is not None or self._shadow:
            # Following: the engine has folded this entry already; only the tape is ours.
            rec = ev.record
            if type(rec) is TradeExecuted:
                self._print(ev.seq, rec, None)
            return
        fn = self._fold.get(ev.type)
        if fn is None:
            return
        rec = ev.record
        subscribers = self._subscribers
        # The published picture always equals the folded state (every change is diffed as it
        # happens), so without subscribers there is nothing to compute beyond the fold itself.
        out = self._fold_and_diff(ev.seq, rec, fn) if subscribers else None
        if not subscribers:
            fn(rec)
        if type(rec) is TradeExecuted:
            self._print(ev.seq, rec, out)
        if out:
            for u in out:
                for s in subscribers:
                    s(u)

    def handle_batch(self, batch: Sequence[LoggedEvent]) -> None:
        if (self._runtime is None and not self._shadow) or not batch or batch[0].seq <= self.position:
            for ev in batch:
                self.handle(ev)
            return
        # Following, and every entry is new: only trades touch what is ours (the tape).
        for ev in batch:
            rec = ev.record
            if type(rec) is TradeExecuted:
                self._print(ev.seq, rec, None)
        self.position = batch[-1].seq

    def _print(self, seq: int, rec: TradeExecuted, out: list[Update] | None) -> None:
        tp = TradePrint(
            seq,
            rec.trade_id,
            rec.instrument,
            rec.price,
            rec.qty,
            rec.aggressor,
            rec.time,
            rec.cross_instrument,
        )
        tape = self._tape.get(rec.instrument)
        if tape is None:
            tape = self._tape[rec.instrument] = deque(maxlen=self.max_tape)
        tape.append(tp)
        if out is not None:
            out.append(tp)

    def _fold_and_diff(self, seq: int, rec: Any, fn: Callable[[Any], None]) -> list[Update]:
        """Fold ``rec`` and return the L3, L2 and L1 changes it made, in that order.

        The orders and levels compared are the ones the event names (before and after it is
        folded) and, for phase changes and halts, every order and level of the books concerned;
        their "before" values are read from the state just before the fold."""
        st = self.state
        orders, books = st.orders, st.books
        t = type(rec)
        if t is TradeExecuted:
            ids: tuple[int, ...] = (rec.buy_order_id, rec.sell_order_id)
        elif t in _ONE_ORDER:
            ids = (rec.order_id,)
        else:
            ids = ()
        touched = [orders[i] for i in ids if i in orders]
        o_before: dict[int, Shown | None] = {}
        for o in touched:
            if o.id not in o_before:
                o_before[o.id] = _shown(o)
        lkeys: list[LevelKey] = [(o.inst, o.is_buy, o.price) for o in touched if o.price is not None]
        cand = list(lkeys)  # every level whose "before" is needed
        if t is OrderAccepted:
            if rec.price is not None:
                cand.append((rec.instrument, rec.side is Side.BUY, rec.price))
        elif t is StopTriggered or t is OrderReplaced:
            so = orders.get(rec.order_id)
            if so is not None:
                price = rec.price if t is OrderReplaced else so.price
                if price is not None:
                    cand.append((so.inst, so.is_buy, price))
        whole: list[Book] = []
        # per book of a phase change: the orders on its levels and its levels, before the fold
        whole_orders: dict[str, list[int]] = {}
        whole_keys: dict[str, list[LevelKey]] = {}
        if t in _WHOLE_BOOK:
            if rec.instrument is not None:
                whole = [books[rec.instrument]]
            else:
                whole = [b for _, b in sorted(books.items()) if b.venue == rec.venue]
            for b in whole:
                whole_orders[b.id] = []
                before = sorted(
                    [(True, p) for p, lv in b.bids.levels.items() if lv.count]
                    + [(False, p) for p, lv in b.asks.levels.items() if lv.count]
                )
                whole_keys[b.id] = [(b.id, is_bid, p) for is_bid, p in before]
            for oid, o in orders.items():
                if o.inst in whole_orders and o.where == LEVEL:
                    whole_orders[o.inst].append(oid)
                    o_before.setdefault(oid, _shown(o))
        l_before = {k: self._level(k) for k in cand}
        for ks in whole_keys.values():
            l_before.update((k, self._level(k)) for k in ks)
        q_before = {i: self._bbo_tuple(i) for i in {k[0] for k in cand}}
        q_before.update((b.id, self._bbo_tuple(b.id)) for b in whole)

        fn(rec)

        if t in _PLACES:
            placed = orders.get(rec.order_id)
            if placed is not None and placed.price is not None:
                touched.append(placed)
                lkeys.append((placed.inst, placed.is_buy, placed.price))
        out: list[Update] = []
        # L3
        moved = t is IcebergReplenished or (t is OrderReplaced and not rec.keeps_priority)
        order_ids = [o.id for o in touched]
        if whole:
            now_on_levels: dict[str, list[int]] = {b.id: [] for b in whole}
            for oid, o in orders.items():
                if o.inst in now_on_levels and o.where == LEVEL:
                    now_on_levels[o.inst].append(oid)
            for b in whole:  # book by book: what was on its levels, then what is
                order_ids += whole_orders[b.id]
                order_ids += now_on_levels[b.id]
        seen: set[int] = set()
        for oid in order_ids:
            if oid in seen:
                continue
            seen.add(oid)
            after = orders.get(oid)
            now = None if after is None else _shown(after)
            was = o_before.get(oid)
            if was is not None and (now is None or moved or was[2] != now[2]):
                out.append(OrderUpdate(seq, was[0], "delete", oid, _side(was[1]), was[2], 0))
                was = None
            if now is None:
                continue
            if was is None:
                out.append(OrderUpdate(seq, now[0], "add", oid, _side(now[1]), now[2], now[3]))
            elif was != now:
                out.append(OrderUpdate(seq, now[0], "update", oid, _side(now[1]), now[2], now[3]))
        # L2: the named levels, then (phase changes) those that were there, then those that are
        keys = list(lkeys)
        for b in whole:
            keys.extend(whole_keys[b.id])
            keys.extend((b.id, True, p) for p in sorted(b.bids.levels))
            keys.extend((b.id, False, p) for p in sorted(b.asks.levels))
        seen_levels: set[LevelKey] = set()
        for k in keys:
            if k in seen_levels:
                continue
            seen_levels.add(k)
            now_l = self._level(k)
            if l_before.get(k, (0, 0)) != now_l:
                out.append(LevelUpdate(seq, k[0], _side(k[1]), k[2], now_l[0], now_l[1]))
        # L1
        instruments = {k[0] for k in lkeys}
        instruments.update(b.id for b in whole)
        for inst in sorted(instruments):
            q = self._bbo_tuple(inst)
            if q_before.get(inst, _EMPTY_QUOTE) != q:
                out.append(QuoteUpdate(seq, inst, *q))
        return out

    def _level(self, k: LevelKey) -> tuple[int, int]:
        """(displayed qty, order count) of a level; (0, 0) when it is empty."""
        book = self.state.books[k[0]]
        lvl = (book.bids if k[1] else book.asks).levels.get(k[2])
        return (lvl.shown, lvl.count) if lvl is not None and lvl.count else (0, 0)

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
        tape = self._tape.get(instrument, deque())
        if last is None or last >= len(tape):
            return list(tape)
        n = len(tape)
        return [tape[i] for i in range(n - max(last, 0), n)]  # a deque indexes from its ends fast

    def rebuild(self, store: EventStore, to_seq: int | None = None) -> None:
        for ev in store.read(self.position + 1, to_seq):
            self.handle(ev)


def _side(is_bid: bool) -> Side:
    return Side.BUY if is_bid else Side.SELL


def _shown(o: Order) -> Shown | None:
    """How L3 shows ``o``: only orders resting on a level are visible."""
    if o.where != LEVEL or o.price is None:
        return None
    return (o.inst, o.is_buy, o.price, o.visible)
