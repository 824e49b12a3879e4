"""The matching engine: handlers that validate commands, match, and emit events.

State lives in ``EngineState`` (``fold.py``) and changes only when an emitted event is applied;
a handler reads the state after each ``ctx.emit`` and decides the next step. Nothing raises out of
a handler on bad input: it emits ``OrderRejected`` and changes nothing. See docs/matching.md.
"""

from __future__ import annotations

import math
from fractions import Fraction
from heapq import heappop
from typing import Any

from system.engine import cross
from system.engine.auction import uncross_price
from system.engine.book import LEVEL, STOP, Book, Order, SideBook
from system.engine.commands import (
    CancelAllOrders,
    CancelOrder,
    ExpireDue,
    ListInstrument,
    ReplaceOrder,
    SetReferencePrice,
    SubmitOrder,
)
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
    OrderRejected,
    OrderReplaced,
    ReferencePriceSet,
    StopTriggered,
    TradeExecuted,
)
from system.engine.fold import EngineState
from system.engine.orders import (
    BandAction,
    CancelReason,
    ExpireReason,
    OrderType,
    RejectReason,
    SelfTradePrevention,
    Side,
    TimeInForce,
)
from system.engine.phases import ChangePhase, Phase, PhaseChanged
from system.engine.snapshot import restore, snapshot
from system.engine.views import BookView, LevelView, OrderView, order_view
from system.runtime.component import handles
from system.runtime.runtime import Context

BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET, STOP_T, STOP_LIMIT = OrderType.LIMIT, OrderType.MARKET, OrderType.STOP, OrderType.STOP_LIMIT
CONTINUOUS = Phase.CONTINUOUS
DAY, GTC = TimeInForce.DAY, TimeInForce.GTC
AUCTIONS = (Phase.OPENING_AUCTION, Phase.CLOSING_AUCTION)
ATO_PHASES = (Phase.PRE_OPEN, Phase.OPENING_AUCTION, Phase.BREAK)
STP_NONE = SelfTradePrevention.NONE
R = RejectReason

# Why matching stopped short of filling the incoming order.
_STP, _BAND, _LIMIT, _HALT = 1, 2, 3, 4


class MatchingEngine(EngineState):
    """Price-time books for every listed instrument; see docs/matching.md.

    ``instruments`` pre-lists instruments without events (configuration); listing them with
    ``ListInstrument`` puts them in the log instead. Venues start in ``default_phase``.
    """

    # -- queries ---------------------------------------------------------------------------------
    def instrument_ids(self) -> list[str]:
        return sorted(self.books)

    def has_instrument(self, instrument: str) -> bool:
        return instrument in self.books

    def phase(self, instrument: str) -> Phase:
        return self.books[instrument].phase

    def book(self, instrument: str, *, orders: bool = True) -> BookView:
        """The book in priority order (``orders=False`` leaves the per-level order lists empty)."""
        b = self.books[instrument]

        def levels(side: SideBook) -> tuple[LevelView, ...]:
            return tuple(
                LevelView(
                    lvl.price,
                    lvl.shown,
                    lvl.qty,
                    lvl.count,
                    tuple(order_view(o) for o in lvl.live_orders()) if orders else (),
                )
                for lvl in side.sorted_levels()
            )

        return BookView(b.id, b.phase, levels(b.bids), levels(b.asks), b.last_price, b.reference)

    def order(self, order_id: int) -> OrderView | None:
        o = self.orders.get(order_id)
        return None if o is None else order_view(o)

    def open_orders(self, account: str | None = None, instrument: str | None = None) -> list[OrderView]:
        """Open orders (resting, stops, parked) by order id."""
        return [
            order_view(o)
            for oid, o in sorted(self.orders.items())
            if (account is None or o.account == account) and (instrument is None or o.inst == instrument)
        ]

    def last_price(self, instrument: str) -> int | None:
        return self.books[instrument].last_price

    def next_expiry(self) -> int | None:
        """When ``ExpireDue`` next has work: the earliest GTD expiry or end of a band halt."""
        gtd, orders = self.gtd, self.orders
        while gtd:  # drop index entries of orders that are gone (not state: a lazy index)
            o = orders.get(gtd[0][1])
            if o is not None and o.expire_time == gtd[0][0]:
                break
            heappop(gtd)
        times = [gtd[0][0]] if gtd else []
        times += [b.halt_until for b in self.books.values() if b.halt_until is not None]
        return min(times) if times else None

    def snapshot_state(self) -> Any:
        return snapshot(self)

    def restore_state(self, state: Any) -> None:
        restore(self, state)

    # -- helpers ---------------------------------------------------------------------------------
    def _reject(
        self,
        ctx: Context,
        command: str,
        instrument: str,
        account: str,
        cid: str,
        reason: RejectReason,
        text: str,
        field: str = "",
        value: object = "",
        order_id: int | None = None,
    ) -> bool:
        ctx.emit(OrderRejected(command, instrument, account, cid, reason, text, field, str(value), order_id))
        return True

    def _cancel(self, ctx: Context, o: Order, reason: CancelReason) -> None:
        ctx.emit(OrderCancelled(o.id, o.inst, o.account, o.cid, o.leaves, reason))

    def _expire(self, ctx: Context, o: Order, reason: ExpireReason) -> None:
        ctx.emit(OrderExpired(o.id, o.inst, o.account, o.cid, o.leaves, reason))

    def _price_problem(self, book: Book, price: int | None, field: str) -> tuple[RejectReason, str] | None:
        inst = book.inst
        if price is None or price <= 0:
            return R.INVALID_PRICE, f"{field} {price} must be a positive price for {inst.id}"
        tick = inst.tick_at(price)
        if price % tick:
            return R.OFF_TICK, f"{field} {price} is not a multiple of tick {tick} for {inst.id}"
        return None

    def _limits_problem(self, book: Book, price: int, now: int) -> tuple[RejectReason, str] | None:
        if price < book.lo_limit or (book.hi_limit is not None and price > book.hi_limit):
            return (
                R.OUTSIDE_PRICE_LIMITS,
                f"price {price} is outside the daily limits {book.lo_limit}..{book.hi_limit} for {book.id}",
            )
        band = book.inst.price_band
        if band is not None and band.action is BandAction.REJECT:
            bb = book.band_bounds(now)
            if bb is not None and not bb[0] <= price <= bb[1]:
                return (
                    R.OUTSIDE_PRICE_BAND,
                    f"price {price} is outside the price band {bb[0]}..{bb[1]} for {book.id}",
                )
        return None

    # -- reference data --------------------------------------------------------------------------
    @handles(ListInstrument)
    def _list_instrument(self, cmd: ListInstrument, ctx: Context) -> bool:
        inst = cmd.instrument
        if inst.id in self.books:
            return self._reject(
                ctx, "ListInstrument", inst.id, "", "", R.DUPLICATE_INSTRUMENT,
                f"instrument {inst.id} is already listed", "id", inst.id,
            )  # fmt: skip
        problem = inst.problem()
        if problem is not None:
            return self._reject(ctx, "ListInstrument", inst.id, "", "", R.INVALID_INSTRUMENT, problem)
        ctx.emit(InstrumentListed(inst))
        return True

    @handles(SetReferencePrice)
    def _set_reference_price(self, cmd: SetReferencePrice, ctx: Context) -> bool:
        book = self.books.get(cmd.instrument)
        if book is None:
            return self._reject(
                ctx, "SetReferencePrice", cmd.instrument, "", "", R.UNKNOWN_INSTRUMENT,
                f"unknown instrument {cmd.instrument}", "instrument", cmd.instrument,
            )  # fmt: skip
        bad = self._price_problem(book, cmd.price, "reference price")
        if bad is not None:
            return self._reject(ctx, "SetReferencePrice", book.id, "", "", bad[0], bad[1], "price", cmd.price)
        ctx.emit(ReferencePriceSet(book.id, cmd.price))
        return True

    # -- new orders ------------------------------------------------------------------------------
    @handles(SubmitOrder)
    def _submit(self, cmd: SubmitOrder, ctx: Context) -> bool:
        book = self.books.get(cmd.instrument)
        account, cid = cmd.account, cmd.client_order_id
        if book is None:
            return self._reject(
                ctx, "SubmitOrder", cmd.instrument, account, cid, R.UNKNOWN_INSTRUMENT,
                f"unknown instrument {cmd.instrument}", "instrument", cmd.instrument,
            )  # fmt: skip
        otype, tif, price, qty = cmd.order_type, cmd.tif, cmd.price, cmd.qty
        ids = self.client_ids.get(account)
        if (  # the common case, checked inline: a plain DAY/GTC limit order in continuous trading
            otype is LIMIT
            and (tif is DAY or tif is GTC)
            and book.phase is CONTINUOUS
            and book.plain
            and price is not None
            and book.lo_ok <= price <= book.hi_ok
            and price % book.fixed_tick == 0
            and qty % book.lot == 0
            and book.qmin <= qty <= book.qmax
            and cmd.stop_price is None
            and cmd.expire_time is None
            and not cmd.post_only
            and not cmd.display_qty
            and (ids is None or cid not in ids)
        ):
            oid = self.next_order_id
            side = cmd.side
            ctx.emit(
                OrderAccepted(
                    oid, book.id, account, cid, side, qty, otype, price, None, tif, None, False, 0,
                    cmd.stp, cmd.cross_currency, ctx.now,
                )
            )  # fmt: skip
            if not cmd.cross_currency:
                # A stale heap top is never better than the true best, so this cannot miss a cross.
                if side is BUY:
                    heap = book.asks.heap
                    if not heap or heap[0] > price:
                        return True
                else:
                    heap = book.bids.heap
                    if not heap or -heap[0] < price:
                        return True
            o = self.orders[oid]
            self._finish(book, o, self._match(book, o, ctx), ctx)
            return True
        bad = self._order_problem(book, cmd, ctx.now)
        if bad is not None:
            return self._reject(ctx, "SubmitOrder", book.id, account, cid, *bad)
        oid = self.next_order_id
        if tif is TimeInForce.FOK and not self._fok_fillable(book, cmd, ctx.now):
            ctx.emit(self._accepted(oid, cmd, ctx.now))
            self._cancel(ctx, self.orders[oid], CancelReason.FOK_UNFILLED)
            return True
        ctx.emit(self._accepted(oid, cmd, ctx.now))
        if book.phase is CONTINUOUS and (otype is LIMIT or otype is MARKET):
            o = self.orders[oid]
            self._finish(book, o, self._match(book, o, ctx), ctx)
        return True

    def _accepted(self, oid: int, c: SubmitOrder, now: int) -> OrderAccepted:
        return OrderAccepted(
            oid, c.instrument, c.account, c.client_order_id, c.side, c.qty, c.order_type, c.price,
            c.stop_price, c.tif, c.expire_time, c.post_only, c.display_qty, c.stp,
            c.cross_currency, now,
        )  # fmt: skip

    def _order_problem(self, book: Book, c: SubmitOrder, now: int) -> tuple[Any, ...] | None:
        """(reason, text, field, value) of the first thing wrong with ``c``, or None."""
        inst = book.inst
        phase = book.phase
        if phase is Phase.CLOSED:
            return R.WRONG_PHASE, f"{inst.id} is closed", "phase", phase
        qty = c.qty
        if qty <= 0:
            return R.INVALID_QTY, f"quantity {qty} must be positive", "qty", qty
        if qty % inst.lot_size:
            return (
                R.OFF_LOT,
                f"quantity {qty} is not a multiple of lot {inst.lot_size} for {inst.id}",
                "qty",
                qty,
            )
        if qty < inst.min_qty:
            return R.QTY_BELOW_MIN, f"quantity {qty} is below the minimum {inst.min_qty}", "qty", qty
        if inst.max_qty and qty > inst.max_qty:
            return R.QTY_ABOVE_MAX, f"quantity {qty} is above the maximum {inst.max_qty}", "qty", qty
        ids = self.client_ids.get(c.account)
        if ids is not None and c.client_order_id in ids:
            return (
                R.DUPLICATE_CLIENT_ORDER_ID,
                f"client order id {c.client_order_id} is already used by account {c.account}",
                "client_order_id",
                c.client_order_id,
            )
        otype, tif, price = c.order_type, c.tif, c.price
        if otype is LIMIT or otype is STOP_LIMIT:
            bad = self._price_problem(book, price, "price")
            if bad is not None:
                return *bad, "price", price
            assert price is not None
            bad = self._limits_problem(book, price, now)
            if bad is not None:
                return *bad, "price", price
        elif price is not None:
            return R.INVALID_PRICE, f"a {otype} order takes no price (got {price})", "price", price
        if otype is STOP_T or otype is STOP_LIMIT:
            stop = c.stop_price
            bad = self._price_problem(book, stop, "stop price")
            if bad is not None:
                return *bad, "stop_price", stop
            assert stop is not None
            last = book.last_price
            if last is not None and (stop <= last if c.side is BUY else stop >= last):
                return (
                    R.INVALID_STOP_PRICE,
                    f"stop price {stop} would trigger at once (last trade {last})",
                    "stop_price",
                    stop,
                )
            if tif not in (TimeInForce.DAY, TimeInForce.GTC, TimeInForce.GTD):
                return R.INVALID_TIF, f"a stop order cannot be {tif}", "tif", tif
        elif c.stop_price is not None:
            return R.INVALID_STOP_PRICE, f"a {otype} order takes no stop price", "stop_price", c.stop_price
        if tif is TimeInForce.GTD:
            if c.expire_time is None or c.expire_time <= now:
                return (
                    R.INVALID_EXPIRE_TIME,
                    "a GTD order needs an expire time after now",
                    "expire_time",
                    c.expire_time,
                )
        elif c.expire_time is not None:
            return R.INVALID_EXPIRE_TIME, f"a {tif} order takes no expire time", "expire_time", c.expire_time
        if (tif is TimeInForce.IOC or tif is TimeInForce.FOK) and phase is not CONTINUOUS:
            return R.WRONG_PHASE, f"{tif} orders need continuous trading; {inst.id} is {phase}", "tif", tif
        if tif is TimeInForce.ATO and phase not in ATO_PHASES:
            return (
                R.WRONG_PHASE,
                f"at-the-open orders are taken before the open; {inst.id} is {phase}",
                "tif",
                tif,
            )
        if c.display_qty:
            d = c.display_qty
            if otype is not LIMIT or tif is TimeInForce.IOC or tif is TimeInForce.FOK:
                return R.INVALID_DISPLAY_QTY, "only resting limit orders can be icebergs", "display_qty", d
            if d < 0 or d >= qty or d % inst.lot_size:
                return (
                    R.INVALID_DISPLAY_QTY,
                    f"display quantity {d} must be a positive multiple of the lot below the quantity {qty}",
                    "display_qty",
                    d,
                )
        if c.post_only:
            if otype is not LIMIT or tif is TimeInForce.IOC or tif is TimeInForce.FOK:
                return R.INVALID_ORDER_TYPE, "only resting limit orders can be post-only", "post_only", True
            if phase is CONTINUOUS:
                assert price is not None
                opp = (book.asks if c.side is BUY else book.bids).best()
                if opp is not None and (price >= opp if c.side is BUY else price <= opp):
                    return (
                        R.POST_ONLY_WOULD_CROSS,
                        f"post-only price {price} would trade at {opp}",
                        "price",
                        price,
                    )
        return None

    # -- matching --------------------------------------------------------------------------------
    def _match(self, book: Book, o: Order, ctx: Context) -> int:
        """Match incoming ``o`` against the other side until filled or stopped; returns why it stopped."""
        emit = ctx.emit
        now = ctx.now
        inst_id = book.id
        is_buy = o.is_buy
        opp = book.asks if is_buy else book.bids
        levels, heap, inheap = opp.levels, opp.heap, opp.inheap
        limit = o.price
        band = book.inst.price_band
        bb = book.band_bounds(now) if band is not None else None
        hi_limit, lo_limit = book.hi_limit, book.lo_limit
        legs = None
        if o.cross and book.inst.cross_group:
            legs = cross.legs(book, self.groups[book.inst.cross_group], self.fx)
        oid, account, stp = o.id, o.account, o.stp
        while o.leaves > 0:
            p: int | None = None
            lvl = None
            while heap:
                top = heap[0]
                p = top if is_buy else -top
                lvl = levels.get(p)
                if lvl is not None:
                    break
                heappop(heap)  # lazy deletion of an emptied level's price (an index, not state)
                inheap.discard(p)
                p = None
            if legs:
                alt = self._cross_best(legs, is_buy, p)
                if alt is not None:
                    stop = self._cross_fill(book, o, alt, bb, ctx)
                    if stop:
                        return stop
                    continue
            if p is None or lvl is None:
                return 0
            if is_buy:
                if limit is not None and p > limit:
                    return 0
                if hi_limit is not None and p > hi_limit:
                    return _LIMIT
            else:
                if limit is not None and p < limit:
                    return 0
                if p < lo_limit:
                    return _LIMIT
            if bb is not None and (p < bb[0] or p > bb[1]):
                return self._band_breach(book, p, bb, ctx)
            r = lvl.head()
            if stp is not STP_NONE and r.account == account:
                if self._self_trade(o, r, ctx):
                    return _STP
                continue
            rv = r.visible
            q = o.leaves if o.leaves < rv else rv
            tid = self.next_trade_id
            if is_buy:
                emit(TradeExecuted(tid, inst_id, p, q, BUY, oid, r.id, account, r.account, r.id, oid, now))
            else:
                emit(TradeExecuted(tid, inst_id, p, q, SELL, r.id, oid, r.account, account, r.id, oid, now))
            if q == rv and r.display and r.leaves:
                emit(IcebergReplenished(r.id, inst_id, r.display if r.display < r.leaves else r.leaves))
        return 0

    def _band_breach(self, book: Book, price: int, bb: tuple[int, int], ctx: Context) -> int:
        band = book.inst.price_band
        assert band is not None
        if band.action is BandAction.HALT:
            ref = book.band_reference(ctx.now)
            assert ref is not None
            text = f"trade at {price} would leave the band {bb[0]}..{bb[1]}"
            ctx.emit(InstrumentHalted(book.id, text, ctx.now + band.halt_ns, price, ref))
            return _HALT
        return _BAND

    def _self_trade(self, o: Order, r: Order, ctx: Context) -> bool:
        """Apply ``o``'s self-trade prevention against resting ``r``; True stops the matching."""
        mode = o.stp
        if mode is SelfTradePrevention.CANCEL_NEWEST:
            return True
        if mode is SelfTradePrevention.CANCEL_OLDEST:
            self._cancel(ctx, r, CancelReason.STP)
            return False
        if mode is SelfTradePrevention.CANCEL_BOTH:
            self._cancel(ctx, r, CancelReason.STP)
            return True
        d = min(o.leaves, r.leaves)  # DECREMENT
        ctx.emit(OrderReduced(r.id, r.inst, r.account, d, r.leaves - d, CancelReason.STP))
        ctx.emit(OrderReduced(o.id, o.inst, o.account, d, o.leaves - d, CancelReason.STP))
        return False

    def _finish(self, book: Book, o: Order, stopped: int, ctx: Context) -> None:
        """Deal with what is left of an incoming order, then let stops react to the new trades."""
        if o.leaves > 0 and o.id in self.orders:
            if stopped == _STP:
                self._cancel(ctx, o, CancelReason.STP)
            elif o.type is MARKET:
                self._cancel(ctx, o, CancelReason.MARKET_REMAINDER)
            elif o.tif is TimeInForce.IOC:
                self._cancel(ctx, o, CancelReason.IOC_REMAINDER)
            elif o.tif is TimeInForce.FOK:
                self._cancel(ctx, o, CancelReason.FOK_UNFILLED)
            elif stopped == _BAND:
                self._cancel(ctx, o, CancelReason.PRICE_BAND)
            elif stopped == _LIMIT:
                self._cancel(ctx, o, CancelReason.PRICE_LIMIT)
        if book.stops_buy or book.stops_sell:
            self._run_stops(book, ctx)
        if o.cross and book.inst.cross_group:
            for other in self.groups[book.inst.cross_group]:
                if other is not book and (other.stops_buy or other.stops_sell):
                    self._run_stops(other, ctx)

    def _run_stops(self, book: Book, ctx: Context) -> None:
        """Trigger due stops one at a time (lowest buy stop / highest sell stop first, buys first),
        each matching before the next is considered, since its trades move the last price."""
        orders = self.orders
        while book.phase is CONTINUOUS and book.last_price is not None:
            last = book.last_price
            due: Order | None = None
            for heap, sign in ((book.stops_buy, 1), (book.stops_sell, -1)):
                while heap:
                    key, oid = heap[0]
                    so = orders.get(oid)
                    if so is None or so.where != STOP:
                        heappop(heap)  # lazy index cleanup
                        continue
                    if (key <= last) if sign == 1 else (-key >= last):
                        due = so
                    break
                if due is not None:
                    break
            if due is None:
                return
            ctx.emit(StopTriggered(due.id, book.id, last))
            self._finish(book, due, self._match(book, due, ctx), ctx)

    # -- cross-currency --------------------------------------------------------------------------
    def _cross_best(self, legs: list[cross.Leg], is_buy: bool, local: int | None) -> tuple[Any, ...] | None:
        """The other book whose best price, converted, beats ``local`` strictly (ties stay local)."""
        best: tuple[Any, ...] | None = None
        for leg in legs:
            side = leg.book.asks if is_buy else leg.book.bids
            p = side.best()
            if p is None:
                continue
            c = p * leg.factor
            if local is not None and (c >= local if is_buy else c <= local):
                continue
            if best is None or (c < best[0] if is_buy else c > best[0]):
                best = (c, p, leg, side)
        return best

    def _cross_fill(
        self, book: Book, o: Order, alt: tuple[Any, ...], bb: tuple[int, int] | None, ctx: Context
    ) -> int:
        c: Fraction = alt[0]
        p: int = alt[1]
        leg: cross.Leg = alt[2]
        side: SideBook = alt[3]
        is_buy = o.is_buy
        if o.price is not None and (c > o.price if is_buy else c < o.price):
            return -1  # nothing better within the limit: stop (non-zero, but not a special reason)
        if is_buy and book.hi_limit is not None and c > book.hi_limit:
            return _LIMIT
        if not is_buy and c < book.lo_limit:
            return _LIMIT
        if bb is not None and (c < bb[0] or c > bb[1]):
            return self._band_breach(book, math.ceil(c) if is_buy else math.floor(c), bb, ctx)
        r = side.levels[p].head()
        if o.stp is not STP_NONE and r.account == o.account:
            return _STP if self._self_trade(o, r, ctx) else 0
        q = min(o.leaves, r.visible)
        cp = math.ceil(c) if is_buy else math.floor(c)  # rounded against the aggressor
        buy, sell = (o, r) if is_buy else (r, o)
        ctx.emit(
            TradeExecuted(
                self.next_trade_id, leg.book.id, p, q, o.side, buy.id, sell.id, buy.account,
                sell.account, r.id, o.id, ctx.now, book.id, cp, leg.fx_base, leg.fx_quote,
                leg.mantissa, leg.exponent,
            )
        )  # fmt: skip
        if r.display and r.leaves and r.visible == 0:
            ctx.emit(IcebergReplenished(r.id, leg.book.id, min(r.display, r.leaves)))
        return 0

    def _fok_fillable(self, book: Book, c: SubmitOrder, now: int) -> bool:
        """Whether a FOK order would fill completely now (self-trades under STP do not count)."""
        is_buy = c.side is BUY
        opp = book.asks if is_buy else book.bids
        bound = c.price
        if is_buy and book.hi_limit is not None:
            bound = book.hi_limit if bound is None else min(bound, book.hi_limit)
        if not is_buy and book.lo_limit:
            bound = book.lo_limit if bound is None else max(bound, book.lo_limit)
        bb = book.band_bounds(now) if book.inst.price_band is not None else None
        need = c.qty
        for lvl in opp.sorted_levels():
            p = lvl.price
            if bound is not None and (p > bound if is_buy else p < bound):
                break
            if bb is not None and not bb[0] <= p <= bb[1]:
                break
            if c.stp is STP_NONE:
                need -= lvl.qty
            else:
                need -= sum(r.leaves for r in lvl.live_orders() if r.account != c.account)
            if need <= 0:
                return True
        return need <= 0

    # -- cancel and replace ----------------------------------------------------------------------
    def _find(
        self, ctx: Context, command: str, account: str, instrument: str, order_id: int | None, cid: str
    ) -> Order | None:
        """The open order a cancel/replace names, or None after emitting the rejection."""
        if order_id is None:
            order_id = self.client_ids.get(account, {}).get(cid)
            if order_id is None:
                self._reject(
                    ctx, command, instrument, account, cid, R.UNKNOWN_ORDER,
                    f"no order with client order id {cid!r} for account {account}", "client_order_id", cid,
                )  # fmt: skip
                return None
        o = self.orders.get(order_id)
        if o is None or o.inst != instrument:
            closed = o is None and 0 < order_id < self.next_order_id
            self._reject(
                ctx, command, instrument, account, cid,
                R.ORDER_CLOSED if closed else R.UNKNOWN_ORDER,
                f"order {order_id} is {'no longer open' if closed else 'unknown'} on {instrument}",
                "order_id", order_id, order_id,
            )  # fmt: skip
            return None
        if o.account != account:
            self._reject(
                ctx, command, instrument, account, cid, R.WRONG_ACCOUNT,
                f"order {order_id} does not belong to account {account}", "account", account, order_id,
            )  # fmt: skip
            return None
        return o

    @handles(CancelOrder)
    def _cancel_order(self, cmd: CancelOrder, ctx: Context) -> bool:
        oid = cmd.order_id
        o = self.orders.get(oid) if oid is not None else None
        if o is not None and o.inst == cmd.instrument and o.account == cmd.account:  # as _find
            ctx.emit(OrderCancelled(o.id, o.inst, o.account, o.cid, o.leaves, CancelReason.USER))
            return True
        o = self._find(ctx, "CancelOrder", cmd.account, cmd.instrument, cmd.order_id, cmd.client_order_id)
        if o is not None:
            self._cancel(ctx, o, CancelReason.USER)
        return True

    @handles(ReplaceOrder)
    def _replace(self, cmd: ReplaceOrder, ctx: Context) -> bool:
        o = self._find(ctx, "ReplaceOrder", cmd.account, cmd.instrument, cmd.order_id, "")
        if o is None:
            return True
        book = self.books[o.inst]
        inst = book.inst

        def rej(reason: RejectReason, text: str, field: str, value: object) -> bool:
            return self._reject(
                ctx, "ReplaceOrder", book.id, cmd.account, o.cid, reason, text, field, value, o.id
            )

        if o.where != LEVEL:
            return rej(R.INVALID_ORDER_TYPE, "only resting limit orders can be replaced", "order_id", o.id)
        filled = o.qty - o.leaves
        qty = o.qty if cmd.qty is None else cmd.qty
        price = o.price if cmd.price is None else cmd.price
        display = o.display if cmd.display_qty is None else cmd.display_qty
        assert price is not None
        leaves = qty - filled
        if leaves <= 0:
            return rej(R.INVALID_QTY, f"new quantity {qty} must exceed the filled {filled}", "qty", qty)
        if qty % inst.lot_size:
            return rej(
                R.OFF_LOT,
                f"quantity {qty} is not a multiple of lot {inst.lot_size} for {inst.id}",
                "qty",
                qty,
            )
        if inst.max_qty and qty > inst.max_qty:
            return rej(R.QTY_ABOVE_MAX, f"quantity {qty} is above the maximum {inst.max_qty}", "qty", qty)
        if display and (display < 0 or display % inst.lot_size):
            return rej(
                R.INVALID_DISPLAY_QTY,
                f"display quantity {display} is not a positive lot multiple",
                "display_qty",
                display,
            )
        if price != o.price:
            bad = self._price_problem(book, price, "price") or self._limits_problem(book, price, ctx.now)
            if bad is not None:
                return rej(bad[0], bad[1], "price", price)
        if qty == o.qty and price == o.price and display == o.display:
            return rej(R.NO_CHANGE, "the replace changes nothing", "order_id", o.id)
        crosses = False
        if book.phase is CONTINUOUS:
            opp = (book.asks if o.is_buy else book.bids).best()
            crosses = opp is not None and (price >= opp if o.is_buy else price <= opp)
            if crosses and o.post_only:
                return rej(
                    R.POST_ONLY_WOULD_CROSS, f"post-only price {price} would trade at {opp}", "price", price
                )
        keeps = price == o.price and leaves <= o.leaves and display == o.display
        ctx.emit(OrderReplaced(o.id, book.id, o.account, price, qty, leaves, display, keeps))
        if crosses:
            n = self.orders[o.id]
            self._finish(book, n, self._match(book, n, ctx), ctx)
        return True

    @handles(CancelAllOrders)
    def _cancel_all(self, cmd: CancelAllOrders, ctx: Context) -> bool:
        for oid in sorted(self.orders):
            o = self.orders.get(oid)
            if (
                o is not None
                and o.account == cmd.account
                and (cmd.instrument is None or o.inst == cmd.instrument)
            ):
                self._cancel(ctx, o, cmd.reason)
        return True

    # -- time: GTD expiry and the end of band halts ---------------------------------------------
    @handles(ExpireDue)
    def _expire_due(self, cmd: ExpireDue, ctx: Context) -> bool:
        now = ctx.now
        for t, oid in sorted(e for e in self.gtd if e[0] <= now):
            o = self.orders.get(oid)
            if o is not None and o.expire_time == t:
                self._expire(ctx, o, ExpireReason.GTD)
        for _, book in sorted(self.books.items()):
            if book.halt_until is not None and book.halt_until <= now and book.phase is Phase.HALTED:
                target = self.phase_of_venue(book.venue)
                self._leave(book, Phase.HALTED, target, ctx)
                ctx.emit(InstrumentResumed(book.id, target))
                self._arrive(book, target, ctx)
        return True

    # -- phases and auctions ---------------------------------------------------------------------
    @handles(ChangePhase)
    def _change_phase(self, cmd: ChangePhase, ctx: Context) -> bool:
        new = cmd.phase
        if cmd.instrument is not None:
            book = self.books.get(cmd.instrument)
            if book is None or book.venue != cmd.venue:
                return self._reject(
                    ctx, "ChangePhase", cmd.instrument, "", "", R.UNKNOWN_INSTRUMENT,
                    f"unknown instrument {cmd.instrument} on venue {cmd.venue}", "instrument", cmd.instrument,
                )  # fmt: skip
            old = book.phase
            self._leave(book, old, new, ctx)
            ctx.emit(PhaseChanged(cmd.venue, new, old, cmd.instrument, cmd.reason))
            self._arrive(book, new, ctx)
            return True
        previous = self.phase_of_venue(cmd.venue)
        affected = [
            (b, b.phase)
            for b in self._venue_books(cmd.venue)
            if b.phase is not new and (b.id not in self.overrides or new is Phase.CLOSED)
        ]
        for b, old in affected:
            self._leave(b, old, new, ctx)
        ctx.emit(PhaseChanged(cmd.venue, new, previous, None, cmd.reason))
        for b, _ in affected:
            self._arrive(b, new, ctx)
        return True

    def _leave(self, book: Book, old: Phase, new: Phase, ctx: Context) -> None:
        """What happens as ``book`` leaves ``old`` for ``new``, before the change is recorded."""
        if old is new:
            return
        ran = False
        if old in AUCTIONS or (new is CONTINUOUS and old is not CONTINUOUS):
            ran = self._uncross(book, old, ctx, report=old in AUCTIONS)
        if ran or new is CONTINUOUS or new is Phase.CLOSED:
            for side in (book.bids, book.asks):
                for o in side.market_orders():
                    self._cancel(ctx, o, CancelReason.MARKET_REMAINDER)
        if old is Phase.OPENING_AUCTION or new not in ATO_PHASES:
            for oid in sorted(book.ato):
                self._expire(ctx, book.ato[oid], ExpireReason.ATO)
        if old is Phase.CLOSING_AUCTION or new is Phase.CLOSED:
            for o in [o for o in self._book_orders(book) if o.tif is TimeInForce.ATC]:
                self._expire(ctx, o, ExpireReason.ATC)

    def _arrive(self, book: Book, new: Phase, ctx: Context) -> None:
        """What happens once ``book`` is in ``new``: DAY expiry at the close, stops in continuous."""
        if new is Phase.CLOSED:
            for o in [o for o in self._book_orders(book) if o.tif is TimeInForce.DAY]:
                self._expire(ctx, o, ExpireReason.DAY)
        elif new is CONTINUOUS and (book.stops_buy or book.stops_sell):
            self._run_stops(book, ctx)

    def _book_orders(self, book: Book) -> list[Order]:
        return [o for _, o in sorted(self.orders.items()) if o.inst == book.id]

    def _uncross(self, book: Book, phase: Phase, ctx: Context, *, report: bool) -> bool:
        """Run the call auction on ``book``; True if an uncross was attempted."""
        bids = [(lvl.price, lvl.qty) for lvl in book.bids.levels.values()]
        asks = [(lvl.price, lvl.qty) for lvl in book.asks.levels.values()]
        mb = sum(o.leaves for o in book.bids.market_orders())
        ms = sum(o.leaves for o in book.asks.market_orders())
        if not report and not mb and not ms and not book.crossed():
            return False
        ref = book.reference if book.reference is not None else book.last_price
        u = uncross_price(bids, asks, mb, ms, ref, book.lo_limit, book.hi_limit)
        if u.price is not None:
            self._execute_uncross(book, u.price, u.qty, ctx)
        ctx.emit(AuctionUncrossed(book.id, u.price, u.qty, u.imbalance_side, u.imbalance_qty, phase))
        return True

    def _execute_uncross(self, book: Book, price: int, qty: int, ctx: Context) -> None:
        """Fill ``qty`` at ``price``: market orders first, then by price, then by time, both sides."""
        # No order enters during the uncross, so each side's executable levels are fixed up front.
        queues = []
        for side in (book.bids, book.asks):
            lvls = [
                lv for lv in side.sorted_levels() if (lv.price >= price if side.is_bid else lv.price <= price)
            ]
            queues.append((side.market, lvls))
        (bm, blv), (sm, slv) = queues
        buys, sells = _auction_queue(bm, blv, qty), _auction_queue(sm, slv, qty)
        if buys is not None and sells is not None:
            self._fill_queues(book.id, price, qty, buys, sells, ctx)
        else:
            self._fill_levels(book.id, price, qty, queues, ctx)

    def _fill_queues(
        self, inst_id: str, price: int, qty: int, buys: list[Order], sells: list[Order], ctx: Context
    ) -> None:
        """The uncross fills when no iceberg takes part: both sides are plain queues whose orders
        leave only by filling, so the walk needs no state read back between fills."""
        emit = ctx.emit
        now = ctx.now
        tid = self.next_trade_id  # the trade applier advances it by one per trade
        bi = si = 0
        b, s = buys[0], sells[0]
        bl, sl = b.leaves, s.leaves
        left = qty
        while True:
            q = bl if bl < sl else sl
            if left < q:
                q = left
            emit(
                TradeExecuted(tid, inst_id, price, q, None, b.id, s.id, b.account, s.account, None, None, now)
            )
            left -= q
            if not left:
                return
            tid += 1
            bl -= q
            if not bl:
                bi += 1
                b = buys[bi]
                bl = b.leaves
            sl -= q
            if not sl:
                si += 1
                s = sells[si]
                sl = s.leaves

    def _fill_levels(
        self, inst_id: str, price: int, qty: int, queues: list[tuple[Any, list[Any]]], ctx: Context
    ) -> None:
        """The uncross fills in general: icebergs refill at the back of their level as they go."""
        emit = ctx.emit
        now = ctx.now
        (bm, blv), (sm, slv) = queues
        bi = si = 0
        b = s = None
        left = qty
        while left > 0:
            if b is None:
                while bm and not bm[0].live:
                    bm.popleft()
                if bm:
                    b = bm[0]
                else:
                    while bi < len(blv) and not blv[bi].count:
                        bi += 1
                    if bi == len(blv):
                        break  # cannot happen when qty came from this book
                    b = blv[bi].queue[0]
                    if not b.live:
                        b = blv[bi].head()
            if s is None:
                while sm and not sm[0].live:
                    sm.popleft()
                if sm:
                    s = sm[0]
                else:
                    while si < len(slv) and not slv[si].count:
                        si += 1
                    if si == len(slv):
                        break
                    s = slv[si].queue[0]
                    if not s.live:
                        s = slv[si].head()
            q = b.leaves if b.leaves < s.leaves else s.leaves
            if left < q:
                q = left
            emit(
                TradeExecuted(
                    self.next_trade_id,
                    inst_id,
                    price,
                    q,
                    None,
                    b.id,
                    s.id,
                    b.account,
                    s.account,
                    None,
                    None,
                    now,
                )
            )
            left -= q
            if b.leaves == 0:
                b = None
            elif b.display and b.visible == 0 and b.where == LEVEL:
                emit(IcebergReplenished(b.id, inst_id, min(b.display, b.leaves)))
                b = None
            if s.leaves == 0:
                s = None
            elif s.display and s.visible == 0 and s.where == LEVEL:
                emit(IcebergReplenished(s.id, inst_id, min(s.display, s.leaves)))
                s = None


def _auction_queue(market: Any, levels: list[Any], need: int) -> list[Order] | None:
    """The first open orders of one side in priority (market orders, then levels best first, then
    time) until their quantity covers ``need``; None if an iceberg with a hidden part is among them
    (it would refill at the back of its level as it fills)."""
    out: list[Order] = []
    for o in market:
        if o.live:
            out.append(o)
            need -= o.leaves
            if need <= 0:
                return out
    for lv in levels:
        if lv.shown != lv.qty:
            return None
        if lv.qty < need:  # the whole level trades: its live orders, without summing them
            out += [o for o in lv.queue if o.live]
            need -= lv.qty
            continue
        for o in lv.queue:
            if o.live:
                out.append(o)
                need -= o.leaves
                if need <= 0:
                    return out
    return out
