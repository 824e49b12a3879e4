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
resting id, imbalances from the book at the moment (by the rules of the engine's ``uncross_price``,
in ``imbalance.py``).

Reference numbers are day-unique and dense (1, 2, ... in order of Add and Replace, as an exchange
assigns them; decoders index on that): an order that is replaced or re-shown gets a new one, and
``order_of`` maps each back to the engine's order id.

An incoming order that crosses the book in continuous trading is not added until its fills are
done (exchanges do not show aggressors); ``pending`` names it meanwhile. The first entry that is
not one of its fills adds what is left of it, stamped with the time of its last fill; ``flush()``
(at the end of a batch) adds it only once it no longer crosses, so a batch boundary inside a
sweep changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

from system.engine.book import LEVEL, Book, Level
from system.engine.events import (
    AuctionUncrossed,
    IcebergReplenished,
    InstrumentHalted,
    InstrumentListed,
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
from system.engine.phases import Phase, PhaseChanged
from system.engine.refdata import Instrument
from system.eventlog.codec import LoggedEvent
from system.gateways.itch import messages as m
from system.gateways.itch.imbalance import indicative_sorted, unmoved

NS_PER_DAY = 86_400 * 10**9
_NS_PER_HOUR = 3_600 * 10**9
_CALL = (Phase.PRE_OPEN, Phase.OPENING_AUCTION, Phase.CLOSING_AUCTION)
_STATE = {Phase.CONTINUOUS: b"T", Phase.HALTED: b"H", Phase.CLOSED: b"H"}  # others: Q(uotation)
_WHOLE = (PhaseChanged, InstrumentHalted, InstrumentResumed)
# whole-message packers of the hot path: (type byte, locate, tracking, ts high, ts low, ...)
_A, _F, _U, _X, _D, _E, _C = (m.WHOLE[t].pack for t in (b"A", b"F", b"U", b"X", b"D", b"E", b"C"))


class FeedError(ValueError):
    """A value ITCH cannot carry (a price off 4 decimals, shares beyond 32 bits)."""


def locates_for(instruments: Iterable[str]) -> dict[str, int]:
    """Stock locates for a day: 1, 2, ... in instrument-id order of the reference data, so the same
    instruments get the same locates whatever order they are listed in."""
    return {inst: i + 1 for i, inst in enumerate(sorted(set(instruments)))}


def _running(levels: dict[int, Level]) -> tuple[list[int], list[int]]:
    """A side's level prices ascending and their running open quantities (for the auction)."""
    prices = sorted(levels)
    qtys = [levels[p].qty for p in prices]
    if 0 in qtys:  # a level left with no live order (the fold drops those today) is no candidate
        prices = [p for p in prices if levels[p].count]
        qtys = [levels[p].qty for p in prices]
    return prices, [0, *accumulate(qtys)]


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
    """Folds log entries (``handle``) into ITCH messages, kept in ``messages`` (feed seq = index + 1).
    Every ``listen`` callback is called after each batch that made messages (``flush``, ``finish``),
    with the last of them: servers wake once per batch, not once per message."""

    name = "itch"

    def __init__(self, tz: str, instruments: Iterable[str] = (), *, attribution: bool = False) -> None:
        self.state = EngineState()
        self._orders = self.state.orders  # the fold mutates this dict, never replaces it
        self._books = self.state.books
        # entry type -> (the engine's applier, what the feed makes of it); the common order events
        # have their own paths, everything else the general one.
        special: dict[type, Callable[[Any, Callable[[Any], None]], None]] = {
            OrderAccepted: self._on_accepted,
            OrderReplaced: self._on_order,
            OrderCancelled: self._on_order,
            OrderExpired: self._on_order,
            OrderReduced: self._on_order,
            TradeExecuted: self._on_trade,
        }
        self._route: dict[str, tuple[Callable[[Any], None], Callable[[Any, Callable[[Any], None]], None]]] = {
            t.name: (fns[0], special.get(t, self._on_other))  # type: ignore[attr-defined]
            for t, fns in self.state.appliers().items()
        }
        self.zone = ZoneInfo(tz)
        self._offsets: dict[int, int] = {}
        self.locates = locates_for(instruments)
        self.listings: dict[str, _Listing] = {}
        self.attribution = attribution
        self.messages: list[bytes] = []
        self._out = self.messages.append
        self._told = 0  # messages the listeners have been told of
        self._listeners: list[Callable[[bytes], None]] = []
        # what subscribers have been told: order id -> [ref, locate, is_buy, price, shown]
        self.shown: dict[int, list[Any]] = {}
        self._next_ref = 1
        self.order_of: dict[int, int] = {}  # feed reference -> engine order id
        self._last_ref: dict[int, int] = {}  # engine order id -> its latest reference
        self.pending: int | None = None
        self._imbalance: dict[str, tuple[Any, ...]] = {}
        # book -> (a, b) of imbalance.unmoved for the last result computed (while it stands)
        self._unmoved: dict[str, tuple[float, float]] = {}
        self._venue_started: set[str] = set()
        self._market_started: set[str] = set()
        self._started = False
        self.position = 0
        self._vt = -1  # valid time of the last entry folded, and its ITCH timestamp (and halves)
        self._ts = self._th = self._tl = 0
        self.ended = False  # End of Messages sent: transports end their sessions

    @property
    def sent(self) -> int:
        """Messages made so far (the last feed seq)."""
        return len(self.messages)

    # -- output ----------------------------------------------------------------------------------
    def listen(self, fn: Callable[[bytes], None]) -> None:
        self._listeners.append(fn)

    def _emit(self, msg: bytes) -> None:
        self._out(msg)

    def _tell(self) -> None:
        if self._told < len(self.messages):
            self._told = len(self.messages)
            last = self.messages[-1]
            for fn in self._listeners:
                fn(last)

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
        self._fold(batch)
        self.flush()

    def handle(self, ev: LoggedEvent) -> None:
        """One entry, without a flush (the listeners hear of it at the next ``flush``)."""
        self._fold((ev,))

    def _fold(self, batch: Sequence[LoggedEvent]) -> None:
        """The hot loop: every entry of the log passes here, half of them commands the engine does
        not fold, so the per-entry work stays in locals."""
        route_of = self._route.get
        position = self.position
        vt_last = self._vt
        hour_start, off = -1, 0  # the hour of vt_last (no offset looked up yet in this batch)
        try:
            for ev in batch:
                seq = ev.seq
                if seq <= position:
                    continue
                position = seq
                route = route_of(ev.type)
                if route is None:
                    continue  # commands and records the engine does not fold
                rec: Any = ev.record
                pending = self.pending
                if pending is not None and not (
                    type(rec) is TradeExecuted
                    and (pending == rec.buy_order_id or pending == rec.sell_order_id)
                ):
                    # the aggressor's fills are over: add its rest, stamped with its own last
                    # entry's time (before this entry's), wherever a batch happened to end
                    self.pending = None
                    self._sync(pending, False)
                vt = ev.valid_time
                if vt != vt_last:
                    vt_last = self._vt = vt
                    if hour_start <= vt < hour_start + _NS_PER_HOUR:  # the zone's offset holds
                        ts = (vt + off) % NS_PER_DAY
                    else:
                        ts = self.since_midnight(vt)
                        hour_start = vt - vt % _NS_PER_HOUR
                        off = self._offsets[vt // _NS_PER_HOUR]
                    self._ts = ts
                    self._th, self._tl = ts >> 32, ts & 0xFFFFFFFF
                if not self._started:
                    self._started = True
                    self._emit(m.system_event(0, self._ts, b"O"))
                route[1](rec, route[0])
        finally:
            self.position = position

    def _on_accepted(self, rec: OrderAccepted, fold: Callable[[Any], None]) -> None:
        fold(rec)
        oid = rec.order_id
        self._placed(oid)
        book = self._books.get(rec.instrument)
        if book is not None and book.phase in _CALL:
            o = self._orders.get(oid)
            if (
                o is None
                or o.where != LEVEL
                or o.price is None
                or not self._quiet(book, o.is_buy, o.price, o.price)
            ):
                self._imbalance_of(book)

    def _on_order(self, rec: Any, fold: Callable[[Any], None]) -> None:
        """A replace, cancel, expiry or reduction of one order."""
        oid = rec.order_id
        book = self._books.get(rec.instrument)  # its phase is the same after these entries
        if book is None or book.phase not in _CALL:  # continuous trading: no imbalance to judge
            fold(rec)
            self._sync(oid, type(rec) is OrderReplaced and not rec.keeps_priority)
            return
        o = self._orders.get(oid)
        # where the order stood before the fold (for the imbalance): only a resting order's
        # change can be judged without recomputing
        before, buy = (o.price, o.is_buy) if o is not None and o.where == LEVEL else (None, False)
        fold(rec)
        self._sync(oid, type(rec) is OrderReplaced and not rec.keeps_priority)
        o = self._orders.get(oid)
        after = before if o is None else o.price if o.where == LEVEL else None
        if before is None or after is None or not self._quiet(book, buy, before, after):
            self._imbalance_of(book)

    def _on_trade(self, rec: TradeExecuted, fold: Callable[[Any], None]) -> None:
        self._trade(rec, fold)
        book = self._books.get(rec.instrument)
        if book is not None and book.phase in _CALL:
            self._imbalance_of(book)

    def _on_other(self, rec: Any, fold: Callable[[Any], None]) -> None:
        """Listings, phases, halts, uncrosses, stops, icebergs and the rest: the general path."""
        t = type(rec)
        if t is StopTriggered:
            fold(rec)
            self._placed(rec.order_id)
        elif t is InstrumentListed:
            fold(rec)
            self._listed(rec.instrument)
        elif t in _WHOLE:
            fold(rec)
            self._whole(rec)
        elif t is AuctionUncrossed:
            fold(rec)
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
                    m.cross_trade(lst.locate, self._ts, rec.qty, lst.stock, self._px(lst, rec.price), 0, kind)
                )
            self._imbalance.pop(rec.instrument, None)
            self._unmoved.pop(rec.instrument, None)
        else:
            fold(rec)
            oid = getattr(rec, "order_id", None)
            if oid is not None:
                self._sync(oid, t is IcebergReplenished or (t is OrderReplaced and not rec.keeps_priority))
        inst = getattr(rec, "instrument", None)
        if type(inst) is str:
            book = self._books.get(inst)
            if book is not None and book.phase in _CALL:
                self._imbalance_of(book)

    def _quiet(self, book: Book, buy: bool, p1: int, p2: int) -> bool:
        """True when a change of resting quantity at ``p1``/``p2`` on one side cannot move the
        auction's indicative result, so the last one computed still holds.

        Either the change is where the other side cannot trade as much as the result does
        (``imbalance.unmoved``), or, with no market order on the other side, S(p) (or B(p)) is
        zero on this side of the other side's best price: every candidate price there trades
        nothing, and the prices beyond, where the volume is, see the same B and S as before.
        (auction.py's rules; both checked against a full recomputation after every entry in
        tests/integration/test_itch_imbalance_feed.py.)"""
        bounds = self._unmoved.get(book.id)
        if bounds is None:
            return False
        if buy:
            if p1 < bounds[0] and p2 < bounds[0]:
                return True
            if book.asks.market:
                return False
            a = book.asks.best()
            return a is None or (p1 < a and p2 < a)
        if p1 > bounds[1] and p2 > bounds[1]:
            return True
        if book.bids.market:
            return False
        b = book.bids.best()
        return b is None or (p1 > b and p2 > b)

    def flush(self) -> None:
        """Add what is left of an aggressor whose fills are done; tell the listeners.

        An aggressor that still crosses the other side has fills to come (the log delivered in
        batches may cut a sweep anywhere: the catch-up reads 1,000 entries at a time), so it stays
        back; the entry after its last fill adds it. The stream is thereby the same however the
        log was batched."""
        oid = self.pending
        if oid is not None and not self._crossing(oid):
            self.pending = None
            self._sync(oid, False)
        self._tell()

    def _crossing(self, oid: int) -> bool:
        """True while order ``oid`` rests in continuous trading at a price the other side's best
        reaches: the engine is not done matching it."""
        o = self._orders.get(oid)
        if o is None or o.where != LEVEL or not o.live or o.price is None:
            return False
        book = self._books[o.inst]
        if book.phase is not Phase.CONTINUOUS:
            return False
        opp = (book.asks if o.is_buy else book.bids).best()
        return opp is not None and (o.price >= opp if o.is_buy else o.price <= opp)

    def finish(self) -> None:
        """End of messages (system event C)."""
        oid = self.pending
        if oid is not None:  # the log ends here: nothing more can fill it
            self.pending = None
            self._sync(oid, False)
        self.flush()
        self._emit(m.system_event(0, self._ts, b"C"))
        self.ended = True
        self._tell()

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
        if self._crossing(oid):
            self.pending = oid
            return
        self._sync(oid, False)

    def _sync(self, oid: int, moved: bool) -> None:
        """Bring the subscriber's picture of order ``oid`` to the engine's. (The hot path: one
        message packed whole per call, the timestamp's halves computed once per entry.)"""
        if oid == self.pending:
            return
        o = self._orders.get(oid)
        shown = self.shown.get(oid)
        if o is None or o.where != LEVEL or not o.live or o.price is None or o.visible <= 0:
            if shown is not None:
                self._out(_D(b"D", shown[1], 0, self._th, self._tl, shown[0]))
                del self.shown[oid]
            return
        price, vis = o.price, o.visible
        if shown is None:
            lst = self.listings.get(o.inst)
            if lst is None:
                return
            px = price * lst.price_scale
            if not 0 <= px < 1 << 32:
                self._px(lst, price)  # raises, naming the price
            ref = self._next_ref
            self._next_ref = ref + 1
            self.order_of[ref] = oid
            self._last_ref[oid] = ref
            side = b"B" if o.is_buy else b"S"
            if self.attribution:
                mpid = o.account.encode("ascii", "replace")[:4].upper().ljust(4, b" ")
                self._out(_F(b"F", lst.locate, 0, self._th, self._tl, ref, side, vis, lst.stock, px, mpid))
            else:
                self._out(_A(b"A", lst.locate, 0, self._th, self._tl, ref, side, vis, lst.stock, px))
            self.shown[oid] = [ref, lst.locate, o.is_buy, price, vis]
        elif moved or price != shown[3] or vis > shown[4]:
            new = self._next_ref
            self._next_ref = new + 1
            self.order_of[new] = oid
            self._last_ref[oid] = new
            px = price * self.listings[o.inst].price_scale
            if not 0 <= px < 1 << 32:
                self._px(self.listings[o.inst], price)  # raises, naming the price
            self._out(_U(b"U", shown[1], 0, self._th, self._tl, shown[0], new, vis, px))
            shown[0], shown[3], shown[4] = new, price, vis
        elif vis < shown[4]:
            self._out(_X(b"X", shown[1], 0, self._th, self._tl, shown[0], shown[4] - vis))
            shown[4] = vis

    def _trade(self, rec: TradeExecuted, fn: Callable[[Any], None]) -> None:
        fn(rec)
        lst = self.listings.get(rec.instrument)
        if lst is None:
            return
        ts, th, tl = self._ts, self._th, self._tl
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
                self._out(_C(b"C", s[1], 0, th, tl, s[0], q, rec.trade_id, b"N" if auction else b"Y", px))
            else:
                self._out(_E(b"E", s[1], 0, th, tl, s[0], q, rec.trade_id))
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
        bp, bcum = _running(book.bids.levels)
        ap, acum = _running(book.asks.levels)
        mq = book.bids.market
        mb = sum(o.leaves for o in mq if o.live) if mq else 0
        mq = book.asks.market
        ms = sum(o.leaves for o in mq if o.live) if mq else 0
        ref = book.reference if book.reference is not None else book.last_price
        u = indicative_sorted(bp, bcum, ap, acum, mb, ms, ref, book.lo_limit, book.hi_limit)
        self._unmoved[book.id] = unmoved(u.qty, bp, bcum, ap, acum, mb, ms)
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
