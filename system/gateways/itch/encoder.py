"""The engine's log as an ITCH 5.0 stream.

``ItchEncoder`` folds the log with the engine's own appliers (as ``MarketData`` does) and keeps its
own model of what a subscriber has been told: every displayed order with its reference number,
price and displayed shares. After each entry it compares the orders the entry touched with that
model and emits the messages that bring a subscriber's book to the engine's:

- a resting order appears as Add Order (A, or F with attribution);
- a fill of a displayed order is Order Executed (E), or Executed With Price (C, not printable) in
  an auction, where the uncross price differs from the limit; the part of a fill that was not
  displayed is a Non-Displayable Trade (P) naming the resting order;
- a quantity cut is Order Cancel (X), removal Order Delete (D), a move that loses priority
  (new price, replenished iceberg, larger size) Order Replace (U) under a new reference number;
- an uncross is a Cross Trade (Q); during call phases an Imbalance (I) follows every change of
  the indicative price, paired or imbalance quantity;
- listings are Stock Directory (R), phases and halts Trading Action (H) and System Event (S).

What the engine's events lack is derived here from the folded state, so no new event type exists
and existing logs keep their head hashes: order ids on trade prints come from ``TradeExecuted``'s
resting id, imbalances from the book at the moment (the same ``uncross_price`` the engine uses).

Reference numbers are day-unique and dense (1, 2, ... in order of Add and Replace, as an exchange
assigns them; decoders index on that): an order that is replaced or re-shown gets a new one, and
``order_of`` maps each back to the engine's order id.

An incoming order that crosses the book in continuous trading is not added until its fills are
done (exchanges do not show aggressors); ``pending`` names it meanwhile and ``flush()`` adds what
is left of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from system.engine.auction import uncross_price
from system.engine.book import LEVEL, Book
from system.engine.events import (
    AuctionUncrossed,
    IcebergReplenished,
    InstrumentHalted,
    InstrumentListed,
    InstrumentResumed,
    OrderAccepted,
    OrderReplaced,
    StopTriggered,
    TradeExecuted,
)
from system.engine.fold import EngineState
from system.engine.phases import Phase, PhaseChanged
from system.engine.refdata import Instrument
from system.eventlog.codec import LoggedEvent
from system.gateways.itch import messages as m

NS_PER_DAY = 86_400 * 10**9
_NS_PER_HOUR = 3_600 * 10**9
_CALL = (Phase.PRE_OPEN, Phase.OPENING_AUCTION, Phase.CLOSING_AUCTION)
_STATE = {Phase.CONTINUOUS: b"T", Phase.HALTED: b"H", Phase.CLOSED: b"H"}  # others: Q(uotation)
_WHOLE = (PhaseChanged, InstrumentHalted, InstrumentResumed)


class FeedError(ValueError):
    """A value ITCH cannot carry (a price off 4 decimals, shares beyond 32 bits)."""


def locates_for(instruments: Iterable[str]) -> dict[str, int]:
    """Stock locates for a day: 1, 2, ... in instrument-id order of the reference data, so the same
    instruments get the same locates whatever order they are listed in."""
    return {inst: i + 1 for i, inst in enumerate(sorted(set(instruments)))}


class _Listing:
    __slots__ = ("inst", "locate", "price_scale", "stock")

    def __init__(self, inst: Instrument, locate: int) -> None:
        self.inst = inst
        self.locate = locate
        self.stock = m.stock8(inst.symbol)
        scale = Decimal(inst.price_increment) * 10_000
        if scale != scale.to_integral_value():
            raise FeedError(f"price increment {inst.price_increment} of {inst.id} needs more than 4 decimals")
        self.price_scale = int(scale)


class ItchEncoder:
    """Folds log entries (``handle``) into ITCH messages, kept in ``messages`` (feed seq = index + 1)
    and passed to every ``listen`` callback as they are made."""

    name = "itch"

    def __init__(
        self, tz: str, instruments: Iterable[str] = (), *, attribution: bool = False, keep: bool = True
    ) -> None:
        self.state = EngineState()
        self._fold: dict[str, Callable[[Any], None]] = {
            t.name: fns[0]  # type: ignore[attr-defined]
            for t, fns in self.state.appliers().items()
        }
        self.zone = ZoneInfo(tz)
        self._offsets: dict[int, int] = {}
        self.locates = locates_for(instruments)
        self.listings: dict[str, _Listing] = {}
        self.attribution = attribution
        self.keep = keep
        self.messages: list[bytes] = []
        self.sent = 0  # messages made so far (the last feed seq)
        self._listeners: list[Callable[[bytes], None]] = []
        # what subscribers have been told: order id -> [ref, locate, is_buy, price, shown]
        self.shown: dict[int, list[Any]] = {}
        self._next_ref = 1
        self.order_of: dict[int, int] = {}  # feed reference -> engine order id
        self._last_ref: dict[int, int] = {}  # engine order id -> its latest reference
        self.pending: int | None = None
        self._imbalance: dict[str, tuple[Any, ...]] = {}
        self._venue_started: set[str] = set()
        self._market_started: set[str] = set()
        self._started = False
        self.position = 0
        self._ts = 0
        self.ended = False  # End of Messages sent: transports end their sessions

    # -- output ----------------------------------------------------------------------------------
    def listen(self, fn: Callable[[bytes], None]) -> None:
        self._listeners.append(fn)

    def _emit(self, msg: bytes) -> None:
        self.sent += 1
        if self.keep:
            self.messages.append(msg)
        for fn in self._listeners:
            fn(msg)

    def since_midnight(self, ns: int) -> int:
        """ns since local midnight in the venue's zone (the ITCH timestamp)."""
        hour = ns // _NS_PER_HOUR
        off = self._offsets.get(hour)
        if off is None:
            dt = datetime.fromtimestamp(ns // 10**9, UTC).astimezone(self.zone)
            delta = dt.utcoffset()
            off = self._offsets[hour] = int(delta.total_seconds()) * 10**9 if delta is not None else 0
        return (ns + off) % NS_PER_DAY

    # -- the subscriber seam -----------------------------------------------------------------------
    def handle_batch(self, batch: Sequence[LoggedEvent]) -> None:
        for ev in batch:
            self.handle(ev)
        self.flush()

    def handle(self, ev: LoggedEvent) -> None:
        if ev.seq <= self.position:
            return
        self.position = ev.seq
        fn = self._fold.get(ev.type)
        if fn is None:
            return
        rec: Any = ev.record
        t = type(rec)
        self._ts = ts = self.since_midnight(ev.valid_time)
        if not self._started:
            self._started = True
            self._emit(m.system_event(0, ts, b"O"))
        if self.pending is not None and not (
            t is TradeExecuted and self.pending in (rec.buy_order_id, rec.sell_order_id)
        ):
            self.flush()
        if t is TradeExecuted:
            self._trade(rec, fn)
        elif t is OrderAccepted or t is StopTriggered:
            fn(rec)
            self._placed(rec.order_id)
        elif t is InstrumentListed:
            fn(rec)
            self._listed(rec.instrument)
        elif t in _WHOLE:
            fn(rec)
            self._whole(rec)
        elif t is AuctionUncrossed:
            fn(rec)
            lst = self.listings.get(rec.instrument)
            if lst is not None and rec.qty and rec.price is not None:
                kind = (
                    b"O"
                    if rec.phase is Phase.OPENING_AUCTION
                    else b"C"
                    if rec.phase is Phase.CLOSING_AUCTION
                    else b"H"
                )
                self._emit(
                    m.cross_trade(lst.locate, ts, rec.qty, lst.stock, self._px(lst, rec.price), 0, kind)
                )
            self._imbalance.pop(rec.instrument, None)
        else:
            fn(rec)
            oid = getattr(rec, "order_id", None)
            if oid is not None:
                moved = t is IcebergReplenished or (t is OrderReplaced and not rec.keeps_priority)
                self._sync(oid, moved)
        inst = getattr(rec, "instrument", None)
        if type(inst) is str:
            book = self.state.books.get(inst)
            if book is not None and book.phase in _CALL:
                self._imbalance_of(book)

    def flush(self) -> None:
        """Add what is left of an aggressor whose fills are done."""
        oid = self.pending
        if oid is not None:
            self.pending = None
            self._sync(oid, False)

    def finish(self) -> None:
        """End of messages (system event C)."""
        self.flush()
        self._emit(m.system_event(0, self._ts, b"C"))
        self.ended = True

    # -- translation -------------------------------------------------------------------------------
    def _px(self, lst: _Listing, price: int) -> int:
        p = price * lst.price_scale
        if not 0 <= p < 1 << 32:
            raise FeedError(f"price {price} of {lst.inst.id} does not fit ITCH's 4-byte price")
        return p

    def _listed(self, inst: Instrument) -> None:
        loc = self.locates.get(inst.id)
        if loc is None:
            loc = self.locates[inst.id] = max(self.locates.values(), default=0) + 1
        lst = self.listings[inst.id] = _Listing(inst, loc)
        ts = self._ts
        self._emit(m.stock_directory(loc, ts, lst.stock, inst.lot_size))
        book = self.state.books.get(inst.id)
        phase = book.phase if book is not None else Phase.CLOSED
        self._emit(m.trading_action(loc, ts, lst.stock, _STATE.get(phase, b"Q")))

    def _placed(self, oid: int) -> None:
        o = self.state.orders.get(oid)
        if o is None or o.where != LEVEL or o.price is None:
            return
        book = self.state.books[o.inst]
        if book.phase is Phase.CONTINUOUS:
            opp = (book.asks if o.is_buy else book.bids).best()
            if opp is not None and (o.price >= opp if o.is_buy else o.price <= opp):
                self.pending = oid
                return
        self._sync(oid, False)

    def _sync(self, oid: int, moved: bool) -> None:
        """Bring the subscriber's picture of order ``oid`` to the engine's."""
        if oid == self.pending:
            return
        o = self.state.orders.get(oid)
        shown = self.shown.get(oid)
        live = o is not None and o.where == LEVEL and o.live and o.price is not None and o.visible > 0
        ts = self._ts
        if shown is None:
            if not live:
                return
            assert o is not None and o.price is not None
            lst = self.listings.get(o.inst)
            if lst is None:
                return
            ref = self._new_ref(oid)
            side = b"B" if o.is_buy else b"S"
            px = self._px(lst, o.price)
            if self.attribution:
                mpid = o.account.encode("ascii", "replace")[:4].upper().ljust(4, b" ")
                self._emit(m.add_order_mpid(lst.locate, ts, ref, side, o.visible, lst.stock, px, mpid))
            else:
                self._emit(m.add_order(lst.locate, ts, ref, side, o.visible, lst.stock, px))
            self.shown[oid] = [ref, lst.locate, o.is_buy, o.price, o.visible]
            return
        ref, loc = shown[0], shown[1]
        if not live:
            self._emit(m.delete(loc, ts, ref))
            del self.shown[oid]
            return
        assert o is not None and o.price is not None
        if moved or o.price != shown[3] or o.visible > shown[4]:
            new = self._new_ref(oid)
            self._emit(m.replace(loc, ts, ref, new, o.visible, self._px(self.listings[o.inst], o.price)))
            shown[0], shown[3], shown[4] = new, o.price, o.visible
        elif o.visible < shown[4]:
            self._emit(m.cancel(loc, ts, ref, shown[4] - o.visible))
            shown[4] = o.visible

    def _new_ref(self, oid: int) -> int:
        ref = self._next_ref
        self._next_ref = ref + 1
        self.order_of[ref] = oid
        self._last_ref[oid] = ref
        return ref

    def _trade(self, rec: TradeExecuted, fn: Callable[[Any], None]) -> None:
        fn(rec)
        lst = self.listings.get(rec.instrument)
        if lst is None:
            return
        ts = self._ts
        auction = rec.aggressor is None
        px = self._px(lst, rec.price)
        shown_qty = 0
        for oid in (rec.buy_order_id, rec.sell_order_id):
            s = self.shown.get(oid)
            if s is None:
                continue
            q = min(rec.qty, s[4])
            if q <= 0:
                continue
            if auction or rec.price != s[3]:
                self._emit(m.executed_price(s[1], ts, s[0], q, rec.trade_id, b"N" if auction else b"Y", px))
            else:
                self._emit(m.executed(s[1], ts, s[0], q, rec.trade_id))
            s[4] -= q
            if s[4] == 0:
                del self.shown[oid]
            if oid == rec.resting_order_id or auction:
                shown_qty = max(shown_qty, q)
        hidden = rec.qty - shown_qty
        if hidden > 0 and not auction:
            rid = rec.resting_order_id or 0
            side = b"B" if rid == rec.buy_order_id else b"S"
            ref = self._last_ref.get(rid, 0)  # 0: never displayed
            self._emit(m.trade(lst.locate, ts, ref, side, hidden, lst.stock, px, rec.trade_id))
        for oid in (rec.buy_order_id, rec.sell_order_id):
            self._sync(oid, False)

    def _whole(self, rec: Any) -> None:
        st = self.state
        if rec.instrument is not None:
            books = [st.books[rec.instrument]] if rec.instrument in st.books else []
        else:
            books = [b for _, b in sorted(st.books.items()) if b.venue == rec.venue]
        if type(rec) is PhaseChanged and rec.instrument is None:
            self._venue_event(rec.venue, rec.phase)
        ids = {b.id for b in books}
        for oid in sorted(
            k for k, v in self.shown.items() if st.orders.get(k) is None or st.orders[k].inst in ids
        ):
            self._sync(oid, False)
        for b in books:
            for side in (b.bids, b.asks):
                for lvl in side.sorted_levels():
                    for o in lvl.live_orders():
                        if o.id not in self.shown:
                            self._sync(o.id, False)
            lst = self.listings.get(b.id)
            if lst is not None:
                reason = (
                    b"    "
                    if type(rec) is not InstrumentHalted
                    else rec.reason.encode("ascii", "replace")[:4].ljust(4)
                )
                self._emit(
                    m.trading_action(lst.locate, self._ts, lst.stock, _STATE.get(b.phase, b"Q"), reason)
                )
                if b.phase in _CALL:  # the auction's first indicative picture
                    self._imbalance_of(b)

    def _venue_event(self, venue: str, phase: Phase) -> None:
        ts = self._ts
        if venue not in self._venue_started and phase is not Phase.CLOSED:
            self._venue_started.add(venue)
            self._emit(m.system_event(0, ts, b"S"))
        if phase is Phase.CONTINUOUS and venue not in self._market_started:
            self._market_started.add(venue)
            self._emit(m.system_event(0, ts, b"Q"))
        if phase is Phase.CLOSED and venue in self._market_started:
            self._market_started.discard(venue)
            self._emit(m.system_event(0, ts, b"M"))
            self._emit(m.system_event(0, ts, b"E"))

    def _imbalance_of(self, book: Book) -> None:
        lst = self.listings.get(book.id)
        if lst is None:
            return
        bids = [(lv.price, lv.qty) for lv in book.bids.levels.values() if lv.count]
        asks = [(lv.price, lv.qty) for lv in book.asks.levels.values() if lv.count]
        mb = sum(o.leaves for o in book.bids.market_orders())
        ms = sum(o.leaves for o in book.asks.market_orders())
        ref = book.reference if book.reference is not None else book.last_price
        u = uncross_price(bids, asks, mb, ms, ref, book.lo_limit, book.hi_limit)
        key = (u.price, u.qty, u.imbalance_side, u.imbalance_qty)
        if self._imbalance.get(book.id) == key:
            return
        self._imbalance[book.id] = key
        direction = b"N" if u.imbalance_side is None else (b"B" if u.imbalance_side.value == "BUY" else b"S")
        kind = b"C" if book.phase is Phase.CLOSING_AUCTION else b"O"
        near = self._px(lst, u.price) if u.price is not None else 0
        refpx = self._px(lst, ref) if ref is not None else 0
        self._emit(
            m.imbalance(lst.locate, self._ts, u.qty, u.imbalance_qty, direction, lst.stock, near, refpx, kind)
        )

    # -- GLIMPSE ---------------------------------------------------------------------------------
    def snapshot(self) -> list[bytes]:
        """The book as a subscriber that joins now needs it (R, H, then every displayed order in
        priority order) followed by End of Snapshot naming the next live sequence number."""
        out: list[bytes] = []
        ts = self._ts
        for iid in sorted(self.listings, key=lambda i: self.listings[i].locate):
            lst = self.listings[iid]
            book = self.state.books.get(iid)
            phase = book.phase if book is not None else Phase.CLOSED
            out.append(m.stock_directory(lst.locate, ts, lst.stock, lst.inst.lot_size))
            out.append(m.trading_action(lst.locate, ts, lst.stock, _STATE.get(phase, b"Q")))
            if book is None:
                continue
            for side in (book.bids, book.asks):
                for lvl in side.sorted_levels():
                    for o in lvl.live_orders():
                        s = self.shown.get(o.id)
                        if s is None:
                            continue
                        out.append(
                            m.add_order(
                                lst.locate,
                                ts,
                                s[0],
                                b"B" if s[2] else b"S",
                                s[4],
                                lst.stock,
                                self._px(lst, s[3]),
                            )
                        )
        out.append(m.end_of_snapshot(self.sent + 1))
        return out
