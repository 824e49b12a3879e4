"""Continuous matching: the walk of an incoming order against the other side (the hot path),
price-band breaches, self-trade prevention, what is left of the order, and stop triggering.
"""

from __future__ import annotations

from heapq import heappop
from typing import TYPE_CHECKING, Any

from system.engine import cross
from system.engine.book import STOP, Book, Order
from system.engine.checks import EngineChecks
from system.engine.events import (
    IcebergReplenished,
    InstrumentHalted,
    OrderReduced,
    StopTriggered,
    TradeExecuted,
)
from system.engine.orders import BandAction, CancelReason, OrderType, SelfTradePrevention, Side, TimeInForce
from system.engine.phases import Phase
from system.runtime.runtime import Context

BUY, SELL = Side.BUY, Side.SELL
MARKET = OrderType.MARKET
CONTINUOUS = Phase.CONTINUOUS
STP_NONE = SelfTradePrevention.NONE

# Why matching stopped short of filling the incoming order.
_STP, _BAND, _LIMIT, _HALT = 1, 2, 3, 4


class Matching(EngineChecks):
    """Price-time matching of one incoming order, then its remainder and the stops it triggers."""

    if TYPE_CHECKING:  # cross-currency legs (crossing.py), composed in MatchingEngine

        def _cross_best(
            self, legs: list[cross.Leg], is_buy: bool, local: int | None
        ) -> tuple[Any, ...] | None: ...

        def _cross_fill(
            self, book: Book, o: Order, alt: tuple[Any, ...], bb: tuple[int, int] | None, ctx: Context
        ) -> int: ...

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
            r = lvl.queue[0]  # Level.head, inlined (one call per fill)
            if not r.live:
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
        mode = self.rules.stp_mode(o.stp)
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
