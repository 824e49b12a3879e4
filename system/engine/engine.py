"""The matching engine: handlers that validate commands, match, and emit events.

``MatchingEngine`` holds the handlers for reference data, new orders, cancel/replace and expiry,
and composes the mixins that hold the rest: ``queries.py`` (read side), ``checks.py`` (rejections
and validation), ``matching.py`` (the continuous match), ``crossing.py`` (cross-currency fills),
``transitions.py`` (phase changes and auctions).

State lives in ``EngineState`` (``fold.py``) and changes only when an emitted event is applied;
a handler reads the state after each ``ctx.emit`` and decides the next step. Nothing raises out of
a handler on bad input: it emits ``OrderRejected`` and changes nothing. See docs/matching.md.
"""

from __future__ import annotations

from system.engine.book import LEVEL, Book, Order
from system.engine.commands import (
    CancelAllOrders,
    CancelOrder,
    ExpireDue,
    ListInstrument,
    ReplaceOrder,
    SetReferencePrice,
    SubmitOrder,
)
from system.engine.crossing import CrossCurrencyMatching
from system.engine.events import (
    InstrumentListed,
    InstrumentResumed,
    OrderAccepted,
    OrderCancelled,
    OrderReplaced,
    ReferencePriceSet,
)
from system.engine.matching import Matching
from system.engine.orders import (
    CancelReason,
    ExpireReason,
    OrderType,
    RejectReason,
    SelfTradePrevention,
    Side,
    TimeInForce,
)
from system.engine.phases import Phase
from system.engine.queries import EngineQueries
from system.engine.transitions import PhaseTransitions
from system.runtime.component import handles
from system.runtime.runtime import Context

BUY = Side.BUY
LIMIT = OrderType.LIMIT
MARKET = OrderType.MARKET
CONTINUOUS = Phase.CONTINUOUS
DAY, GTC, ATC = TimeInForce.DAY, TimeInForce.GTC, TimeInForce.ATC
STP_NONE = SelfTradePrevention.NONE
R = RejectReason


class MatchingEngine(EngineQueries, Matching, CrossCurrencyMatching, PhaseTransitions):
    """Price-time books for every listed instrument; see docs/matching.md.

    ``instruments`` pre-lists instruments without events (configuration); listing them with
    ``ListInstrument`` puts them in the log instead. Venues start in ``default_phase``.
    """

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
            stopped = self._match(book, o, ctx)
            # _finish has nothing to do for a plain DAY/GTC limit order that stopped at its own
            # price (its rest stays on the book) unless stops may trigger or it crosses books.
            if stopped or book.stops_buy or book.stops_sell or o.cross:
                self._finish(book, o, stopped, ctx)
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
        # An ATC order is parked by the fold until the closing auction: it must not match on entry
        # (a fill here left the filled order in the parked list, to rejoin the book at the close).
        if book.phase is CONTINUOUS and (otype is LIMIT or otype is MARKET) and tif is not ATC:
            o = self.orders[oid]
            self._finish(book, o, self._match(book, o, ctx), ctx)
        return True

    def _accepted(self, oid: int, c: SubmitOrder, now: int) -> OrderAccepted:
        return OrderAccepted(
            oid, c.instrument, c.account, c.client_order_id, c.side, c.qty, c.order_type, c.price,
            c.stop_price, c.tif, c.expire_time, c.post_only, c.display_qty, c.stp,
            c.cross_currency, now,
        )  # fmt: skip

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
        # The common case, checked inline (three in four commands of a simulated day are a maker
        # moving a resting quote): the order found by id, no iceberg, a valid quantity and price,
        # no band. Anything else, and every rejection, takes the general path below, which
        # decides the same way when these conditions hold.
        oid = cmd.order_id
        o = self.orders.get(oid) if oid is not None else None
        if (
            o is not None
            and o.where == LEVEL
            and o.inst == cmd.instrument
            and o.account == cmd.account
            and cmd.display_qty is None
            and not o.display
        ):
            book = self.books[o.inst]
            old_price, old_qty, old_leaves = o.price, o.qty, o.leaves
            qty = old_qty if cmd.qty is None else cmd.qty
            price = old_price if cmd.price is None else cmd.price
            leaves = qty - (old_qty - old_leaves)
            if (
                price is not None
                and leaves > 0
                and qty % book.lot == 0
                and qty <= book.qmax
                and (qty != old_qty or price != old_price)
                and (
                    price == old_price
                    or (
                        book.lo_ok <= price <= book.hi_ok
                        and book.inst.price_band is None
                        and not self.rules.differences
                        and price % book.tick_at(price) == 0
                    )
                )
            ):
                crosses = False
                if book.phase is CONTINUOUS:
                    opp = (book.asks if o.is_buy else book.bids).best()
                    crosses = opp is not None and (price >= opp if o.is_buy else price <= opp)
                if not (crosses and o.post_only):
                    rules = self.rules
                    keeps = (
                        price == old_price and leaves <= old_leaves  # the reference rule
                        if not rules.differences
                        else rules.replace_keeps_priority(price == old_price, True, leaves, old_leaves)
                    )
                    ctx.emit(OrderReplaced(o.id, book.id, o.account, price, qty, leaves, 0, keeps))
                    if crosses:
                        n = self.orders[o.id]
                        self._finish(book, n, self._match(book, n, ctx), ctx)
                    return True
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
        keeps = self.rules.replace_keeps_priority(price == o.price, display == o.display, leaves, o.leaves)
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
