"""The engine's state and its fold: the only code that changes a book.

Every method here is an ``@applies`` of one event type. Handlers (``engine.py`` and its mixins) decide and
emit; the same events folded into a fresh engine rebuild the identical state.
"""

from __future__ import annotations

from collections import deque
from heapq import heappush
from typing import Any

from system.engine.book import LEVEL, MARKET_Q, NOWHERE, PARKED, STOP, UNBOUNDED, Book, Level, Order
from system.engine.deviations import REFERENCE, Rules
from system.engine.events import (
    AuctionUncrossed,
    FxRateSet,
    IcebergReplenished,
    InstrumentHalted,
    InstrumentListed,
    InstrumentResumed,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderReduced,
    OrderReplaced,
    ReferencePriceSet,
    StopTriggered,
    TradeExecuted,
)
from system.engine.orders import OrderType, Side, TimeInForce
from system.engine.phases import Phase, PhaseChanged
from system.engine.refdata import Instrument, limit_width
from system.runtime.component import Component, applies

_TRANSIENT_TIF = (TimeInForce.IOC, TimeInForce.FOK)
_ATO = TimeInForce.ATO
_DAY, _GTC = TimeInForce.DAY, TimeInForce.GTC
_LIMIT = OrderType.LIMIT
_BUY = Side.BUY


class EngineState(Component):
    """Books, open orders, phases, counters and FX rates, and the appliers that fold events."""

    name = "engine"

    def __init__(
        self,
        instruments: tuple[Instrument, ...] = (),
        default_phase: Phase = Phase.CONTINUOUS,
        rules: Rules = REFERENCE,
    ) -> None:
        self.default_phase = default_phase
        self.rules = rules  # the reference, or a served mock's deliberate differences (deviations.py)
        self.books: dict[str, Book] = {}
        self.orders: dict[int, Order] = {}  # open orders (resting, stops, parked, matching)
        self.client_ids: dict[str, dict[str, int]] = {}  # account -> client order id -> order id
        self.open_count: dict[str, int] = {}  # account -> open orders (the risk engine reads it)
        self.next_order_id = 1
        self.next_trade_id = 1
        self.venue_phase: dict[str, Phase] = {}
        self.overrides: dict[str, Phase] = {}  # instrument -> phase, while it differs from its venue's
        self.groups: dict[str, list[Book]] = {}  # cross_group -> books sorted by id
        self.fx: dict[tuple[str, str], tuple[int, int]] = {}  # (base, quote) -> (mantissa, exponent)
        self.gtd: list[tuple[int, int]] = []  # (expire time, order id), lazily pruned
        for inst in instruments:
            self._list(inst)

    # -- listing and reference data ------------------------------------------------------------
    def _list(self, inst: Instrument) -> None:
        book = Book(inst, self.venue_phase.get(inst.venue, self.default_phase))
        self.books[inst.id] = book
        if inst.reference_price is not None:
            self._set_reference(book, inst.reference_price)
        if inst.cross_group:
            group = self.groups.setdefault(inst.cross_group, [])
            group.append(book)
            group.sort(key=lambda b: b.id)

    def _set_reference(self, book: Book, price: int) -> None:
        book.reference = price
        w = limit_width(book.inst, price)
        if w is None:
            book.lo_limit, book.hi_limit = 0, None
        else:
            book.lo_limit, book.hi_limit = max(price - w, 1), price + w
        book.lo_ok = max(book.lo_limit, 1)
        book.hi_ok = UNBOUNDED if book.hi_limit is None else book.hi_limit

    @applies(InstrumentListed)
    def _on_listed(self, ev: InstrumentListed) -> None:
        self._list(ev.instrument)

    @applies(ReferencePriceSet)
    def _on_reference(self, ev: ReferencePriceSet) -> None:
        self._set_reference(self.books[ev.instrument], ev.price)

    @applies(FxRateSet)
    def _on_fx(self, ev: FxRateSet) -> None:
        self.fx[(ev.base, ev.quote)] = (ev.mantissa, ev.exponent)

    # -- orders ----------------------------------------------------------------------------------
    @applies(OrderAccepted)
    def _on_accepted(self, ev: OrderAccepted) -> None:
        book = self.books[ev.instrument]
        oid = ev.order_id
        side = ev.side
        qty, display = ev.qty, ev.display_qty
        is_buy = side is _BUY
        tif = ev.tif
        otype = ev.order_type
        price = ev.price
        # The common case, a plain limit order, joins the back of its level below: it is built
        # already marked as resting (a msgspec Struct's attribute store is a slow generic setattr).
        plain = otype is _LIMIT and (tif is _DAY or tif is _GTC) and not display and price is not None
        o = Order(
            oid, ev.instrument, ev.account, ev.client_order_id, side, is_buy, otype,
            price, ev.stop_price, tif, ev.expire_time, ev.post_only, display,
            ev.stp, ev.cross_currency, ev.time, qty, qty, display if 0 < display < qty else qty,
            LEVEL if plain else NOWHERE, plain,
        )  # fmt: skip
        self.next_order_id = oid + 1
        self.orders[oid] = o
        n = self.open_count
        n[ev.account] = n.get(ev.account, 0) + 1
        ids = self.client_ids.get(ev.account)
        if ids is None:
            self.client_ids[ev.account] = {ev.client_order_id: oid}
        else:
            ids[ev.client_order_id] = oid
        if plain:  # the back of its level (as _rest); ``where`` and ``live`` are set already
            at: int = price  # type: ignore[assignment]  # ``plain`` says it is not None
            sb = book.bids if is_buy else book.asks
            lvl = sb.levels.get(at)
            if lvl is None:
                lvl = sb.levels[at] = Level(at)
                if at not in sb.inheap:
                    sb.inheap.add(at)
                    heappush(sb.heap, -at if is_buy else at)
            lvl.queue.append(o)
            lvl.qty += qty
            lvl.shown += qty
            lvl.count += 1
            return
        if otype is OrderType.LIMIT and (tif is TimeInForce.DAY or tif is TimeInForce.GTC):
            self._rest(book, o)
            return
        if tif is TimeInForce.GTD and ev.expire_time is not None:
            heappush(self.gtd, (ev.expire_time, oid))
        elif tif is TimeInForce.ATO:
            book.ato[oid] = o
        if otype is OrderType.STOP or otype is OrderType.STOP_LIMIT:
            self._park_stop(book, o)
        elif tif is TimeInForce.ATC and book.phase is not Phase.CLOSING_AUCTION:
            o.where = PARKED
            book.parked.append(o)
        else:
            self._enter(book, o)

    def _park_stop(self, book: Book, o: Order) -> None:
        o.where = STOP
        stop = o.stop_price
        assert stop is not None
        if o.is_buy:
            heappush(book.stops_buy, (stop, o.id))
        else:
            heappush(book.stops_sell, (-stop, o.id))

    def _enter(self, book: Book, o: Order) -> None:
        """Put a live (non-stop, non-parked) order where it belongs for the book's phase."""
        if o.type is OrderType.MARKET:
            if book.phase is Phase.CONTINUOUS:
                o.where = NOWHERE  # matches now; its rest is cancelled
            else:
                o.where = MARKET_Q
                o.live = True
                (book.bids if o.is_buy else book.asks).market.append(o)
        elif o.tif in _TRANSIENT_TIF:
            o.where = NOWHERE
        else:
            self._rest(book, o)

    def _rest(self, book: Book, o: Order) -> None:
        side = book.bids if o.is_buy else book.asks
        price = o.price
        assert price is not None
        lvl = side.levels.get(price)
        if lvl is None:
            lvl = side.levels[price] = Level(price)
            if price not in side.inheap:
                side.inheap.add(price)
                heappush(side.heap, -price if side.is_bid else price)
        lvl.queue.append(o)
        lvl.qty += o.leaves
        lvl.shown += o.visible
        lvl.count += 1
        o.where = LEVEL
        o.live = True

    def _remove(self, o: Order) -> None:
        """Take an order out of wherever it is and forget it (filled, cancelled, expired)."""
        del self.orders[o.id]
        self.open_count[o.account] -= 1
        where = o.where
        if where == LEVEL:
            self._unlevel(o)
        elif where == PARKED:
            self.books[o.inst].parked.remove(o)
        elif where == MARKET_Q:
            o.live = False
        # STOP entries are skipped lazily when they reach the top of the stop heap.
        o.where = NOWHERE
        if o.tif is TimeInForce.ATO:
            self.books[o.inst].ato.pop(o.id, None)

    def _unlevel(self, o: Order) -> None:
        side = self.books[o.inst].side_of(o)
        lvl = side.level_of(o)
        o.live = False
        lvl.qty -= o.leaves
        lvl.shown -= o.visible
        lvl.count -= 1
        if lvl.count == 0:
            del side.levels[lvl.price]
        else:
            lvl.dead += 1
            if lvl.dead > 32 and lvl.dead > lvl.count:  # drop dead entries, amortised O(1)
                lvl.queue = deque([x for x in lvl.queue if x.live])
                lvl.dead = 0

    @applies(TradeExecuted)
    def _on_trade(self, ev: TradeExecuted) -> None:
        q = ev.qty
        orders = self.orders
        aggressor = ev.aggressor_order_id
        inst = ev.instrument
        book = self.books[inst]
        for oid in (ev.buy_order_id, ev.sell_order_id):
            o = orders[oid]
            leaves = o.leaves - q
            if leaves == 0:  # filled: the common case for the resting side, inlined
                del orders[oid]
                self.open_count[o.account] -= 1
                if o.where == LEVEL:
                    bk = book if o.inst == inst else self.books[o.inst]
                    levels = (bk.bids if o.is_buy else bk.asks).levels
                    lvl: Any = levels[o.price]  # type: ignore[index]
                    lvl.qty -= q
                    lvl.shown -= o.visible
                    lvl.count -= 1
                    if not lvl.count:
                        del levels[lvl.price]
                o.live = False
                o.leaves = o.visible = o.where = 0  # NOWHERE
                if o.tif is _ATO:
                    self.books[o.inst].ato.pop(oid, None)
                continue
            vis = o.visible
            if oid == aggressor:
                if vis > leaves:
                    vis = leaves
            else:
                vis = vis - q if vis > q else 0
            if o.where == LEVEL:
                bk = book if o.inst == inst else self.books[o.inst]
                lvl = (bk.bids if o.is_buy else bk.asks).levels[o.price]  # type: ignore[index]
                lvl.qty -= q
                lvl.shown += vis - o.visible
            o.leaves = leaves
            o.visible = vis
        book.last_price = ev.price
        band = book.inst.price_band
        if band is not None:
            w = book.band_window
            w.append((ev.time, ev.price))
            cutoff = ev.time - band.window_ns
            while w[0][0] < cutoff:
                w.popleft()
        self.next_trade_id = ev.trade_id + 1

    @applies(IcebergReplenished)
    def _on_replenished(self, ev: IcebergReplenished) -> None:
        o = self.orders[ev.order_id]
        lvl = self.books[o.inst].side_of(o).level_of(o)
        q = lvl.queue
        if q and q[0] is o:
            q.popleft()
        else:
            q.remove(o)
        q.append(o)
        o.visible = ev.display
        lvl.shown += ev.display

    @applies(OrderCancelled)
    def _on_cancelled(self, ev: OrderCancelled) -> None:
        o = self.orders[ev.order_id]
        if o.where != LEVEL or o.tif is _ATO:
            self._remove(o)
            return
        del self.orders[o.id]  # the common case, a resting order: as _remove and _unlevel
        self.open_count[o.account] -= 1
        book = self.books[o.inst]
        side = book.bids if o.is_buy else book.asks
        lvl = side.levels[o.price]  # type: ignore[index]
        o.live = False
        o.where = NOWHERE
        lvl.qty -= o.leaves
        lvl.shown -= o.visible
        lvl.count -= 1
        if lvl.count == 0:
            del side.levels[lvl.price]
        else:
            lvl.dead += 1
            if lvl.dead > 32 and lvl.dead > lvl.count:  # drop dead entries, amortised O(1)
                lvl.queue = deque([x for x in lvl.queue if x.live])
                lvl.dead = 0

    @applies(OrderExpired)
    def _on_expired(self, ev: OrderExpired) -> None:
        self._remove(self.orders[ev.order_id])

    @applies(OrderReduced)
    def _on_reduced(self, ev: OrderReduced) -> None:
        o = self.orders[ev.order_id]
        if ev.leaves == 0:
            self._remove(o)
            o.leaves = 0
            return
        vis = min(o.visible, ev.leaves)
        if o.where == LEVEL:
            lvl = self.books[o.inst].side_of(o).level_of(o)
            lvl.qty -= o.leaves - ev.leaves
            lvl.shown -= o.visible - vis
        o.leaves = ev.leaves
        o.visible = vis

    @applies(OrderReplaced)
    def _on_replaced(self, ev: OrderReplaced) -> None:
        o = self.orders[ev.order_id]
        book = self.books[o.inst]
        if (
            o.where == LEVEL
            and not ev.display_qty
            and not o.display
            and o.tif is not _ATO
            and (not ev.keeps_priority or ev.price == o.price)
        ):
            # The common case, a plain resting order (a maker moving its quote): as below, inlined.
            # A deviant venue's reprice that keeps priority takes the general path below.
            side = book.bids if o.is_buy else book.asks
            levels = side.levels
            lvl = levels[o.price]  # type: ignore[index]
            leaves = ev.leaves
            if ev.keeps_priority:  # the same price here (see the condition above)
                lvl.qty += leaves - o.leaves
                lvl.shown += leaves - o.visible
                o.qty = ev.qty
                o.leaves = o.visible = leaves
                return
            n = o.copy()
            price: int = ev.price  # type: ignore[assignment]  # a resting limit order's price
            n.price, n.qty, n.leaves, n.visible = price, ev.qty, leaves, leaves
            o.live = False
            o.where = NOWHERE
            lvl.qty -= o.leaves
            lvl.shown -= o.visible
            lvl.count -= 1
            if lvl.count == 0:
                del levels[lvl.price]
            else:
                lvl.dead += 1
                if lvl.dead > 32 and lvl.dead > lvl.count:  # as _unlevel
                    lvl.queue = deque([x for x in lvl.queue if x.live])
                    lvl.dead = 0
            self.orders[o.id] = n
            dest = levels.get(price)  # as _rest
            if dest is None:
                dest = levels[price] = Level(price)
                if price not in side.inheap:
                    side.inheap.add(price)
                    heappush(side.heap, -price if side.is_bid else price)
            dest.queue.append(n)
            dest.qty += leaves
            dest.shown += leaves
            dest.count += 1
            n.where = LEVEL
            n.live = True
            return
        if ev.keeps_priority and ev.price == o.price:
            vis = min(ev.display_qty, ev.leaves) if ev.display_qty else ev.leaves
            if o.where == LEVEL:
                lvl = book.side_of(o).level_of(o)
                lvl.qty += ev.leaves - o.leaves
                lvl.shown += vis - o.visible
            o.qty, o.leaves, o.visible, o.display = ev.qty, ev.leaves, vis, ev.display_qty
            return
        # Losing priority: a fresh entry at the back of the (new) level; the old one goes dead.
        n = o.copy()
        n.price, n.qty, n.leaves, n.display = ev.price, ev.qty, ev.leaves, ev.display_qty
        n.visible = min(ev.display_qty, ev.leaves) if ev.display_qty else ev.leaves
        if o.where == LEVEL:
            self._unlevel(o)
        o.where = NOWHERE
        self.orders[o.id] = n
        if n.tif is TimeInForce.ATO:
            book.ato[n.id] = n
        self._rest(book, n)
        if ev.keeps_priority:  # a deviant venue's reprice (deviations.py): its place by arrival
            self.rules.keep_arrival_place(book.side_of(n).level_of(n).queue, n)

    @applies(StopTriggered)
    def _on_stop(self, ev: StopTriggered) -> None:
        o = self.orders[ev.order_id]
        o.type = OrderType.MARKET if o.type is OrderType.STOP else OrderType.LIMIT
        o.where = NOWHERE
        self._enter(self.books[o.inst], o)

    # -- phases, halts, auctions -----------------------------------------------------------------
    def phase_of_venue(self, venue: str) -> Phase:
        return self.venue_phase.get(venue, self.default_phase)

    @applies(PhaseChanged)
    def _on_phase(self, ev: PhaseChanged) -> None:
        if ev.instrument is None:
            self.venue_phase[ev.venue] = ev.phase
            for book in self._venue_books(ev.venue):
                if ev.phase is Phase.CLOSED:
                    self.overrides.pop(book.id, None)
                    book.halt_until = None
                if book.id not in self.overrides:
                    self._set_phase(book, ev.phase)
        else:
            book = self.books[ev.instrument]
            if ev.phase is self.phase_of_venue(ev.venue):
                self.overrides.pop(book.id, None)
            else:
                self.overrides[book.id] = ev.phase
            if ev.phase is not Phase.HALTED:
                book.halt_until = None
            self._set_phase(book, ev.phase)

    def _venue_books(self, venue: str) -> list[Book]:
        return [b for _, b in sorted(self.books.items()) if b.venue == venue]

    def _set_phase(self, book: Book, phase: Phase) -> None:
        book.phase = phase
        if phase is Phase.CLOSING_AUCTION and book.parked:
            parked, book.parked = book.parked, []
            for o in parked:
                self._enter(book, o)

    @applies(InstrumentHalted)
    def _on_halted(self, ev: InstrumentHalted) -> None:
        book = self.books[ev.instrument]
        self.overrides[book.id] = Phase.HALTED
        book.halt_until = ev.until
        book.phase = Phase.HALTED

    @applies(InstrumentResumed)
    def _on_resumed(self, ev: InstrumentResumed) -> None:
        book = self.books[ev.instrument]
        self.overrides.pop(book.id, None)
        book.halt_until = None
        self._set_phase(book, ev.phase)

    @applies(AuctionUncrossed)
    def _on_uncrossed(self, ev: AuctionUncrossed) -> None:
        pass  # the trades already moved the book; the event is for the tape and reports
