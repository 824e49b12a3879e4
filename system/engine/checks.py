"""The steps every handler shares: emitting a rejection, cancel or expiry, and the checks on
prices, daily limits, price bands and new orders that pick the first reason to reject.

Nothing raises on bad input: a handler turns a problem found here into ``OrderRejected``.
"""

from __future__ import annotations

from typing import Any

from system.engine.book import Book, Order
from system.engine.commands import SubmitOrder
from system.engine.events import OrderCancelled, OrderExpired, OrderRejected
from system.engine.fold import EngineState
from system.engine.orders import (
    BandAction,
    CancelReason,
    ExpireReason,
    OrderType,
    RejectReason,
    Side,
    TimeInForce,
)
from system.engine.phases import Phase
from system.engine.refdata import price_to_decimal
from system.runtime.runtime import Context

BUY = Side.BUY
LIMIT = OrderType.LIMIT
STOP_T = OrderType.STOP
STOP_LIMIT = OrderType.STOP_LIMIT
CONTINUOUS = Phase.CONTINUOUS
ATO_PHASES = (Phase.PRE_OPEN, Phase.OPENING_AUCTION, Phase.BREAK)
R = RejectReason


class EngineChecks(EngineState):
    """Reject/cancel/expire emitters and the validation of prices and new orders."""

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
        # Texts in the instrument's units (what the order said), not the engine's integers.
        if price is None or price <= 0:
            shown = price if price is None else price_to_decimal(inst, price)
            return R.INVALID_PRICE, f"{field} {shown} must be a positive price for {inst.id}"
        tick = self.rules.tick_at(inst, price)
        if price % tick:
            return (
                R.OFF_TICK,
                f"{field} {price_to_decimal(inst, price)} is not a multiple of tick "
                f"{price_to_decimal(inst, tick)} for {inst.id}",
            )
        return None

    def _limits_problem(self, book: Book, price: int, now: int) -> tuple[RejectReason, str] | None:
        inst = book.inst
        if price < book.lo_limit or (book.hi_limit is not None and price > book.hi_limit):
            hi = "" if book.hi_limit is None else price_to_decimal(inst, book.hi_limit)
            return (
                R.OUTSIDE_PRICE_LIMITS,
                f"price {price_to_decimal(inst, price)} is outside the daily limits "
                f"{price_to_decimal(inst, book.lo_limit)}..{hi} for {book.id}",
            )
        band = inst.price_band
        if band is not None and band.action is BandAction.REJECT:
            bb = book.band_bounds(now)
            if bb is not None and not bb[0] <= price <= bb[1]:
                return (
                    R.OUTSIDE_PRICE_BAND,
                    f"price {price_to_decimal(inst, price)} is outside the price band "
                    f"{price_to_decimal(inst, bb[0])}..{price_to_decimal(inst, bb[1])} for {book.id}",
                )
        return None

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
