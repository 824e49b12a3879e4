"""The post-trade ledger: open orders, positions, average cost, realised and unrealised P&L, fees,
cash per currency, initial and maintenance margin, per account and for the firm.

A pure fold of log records (no handlers): the Risk component decides with one, the accounts read
model answers queries with another, and both come out the same from the same log.

Accounting (docs/risk.md). A position is ``qty`` (signed) and ``cost`` (signed sum of price x qty
of what is open, in raw int units). Reducing a position releases the proportional part of its
cost, rounded toward zero (closing all of it releases all of it), and realises the difference.
So for every account: realised = cash flow of its fills + open cost, exactly, and across
accounts that trade only with each other realised P&L sums to zero once they are flat.
Money is derived from raw units by a floor of the running total (never a sum of rounded
pieces); fees round up to the currency unit on each fill (maker or taker rate).
Margin nets within an instrument: initial margin on the worst case of the position plus open
buys or minus open sells; maintenance margin on the position. Both are valued at the mark
(falling back to the last trade, then the reference price), converted into the account's
currency with the pricing FX rates; a currency with no rate counts as zero.
"""

from __future__ import annotations

from system.corrections import LateTradeReported, TradeBusted, TradeCorrected, unpack_ints
from system.engine.events import (
    FxRateSet,
    InstrumentListed,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderReduced,
    OrderReplaced,
    ReferencePriceSet,
    TradeExecuted,
)
from system.engine.orders import Side
from system.pricing.events import MarkPriceSet
from system.risk.events import MarginCall, MarginRestored, MarginWarning
from system.risk.valuation import InstInfo, OpenOrder, Position, Valuation
from system.runtime import applies

_BUY = Side.BUY
RATE_WINDOW_NS = 1_000_000_000


class Ledger(Valuation):
    """The fold: listings, prices, orders, fills, corrections and margin status applied to the
    valuation's accounts and positions (what each ``track_*`` flag keeps: ``Valuation``)."""

    # -- reference data and prices ---------------------------------------------------------------
    @applies(InstrumentListed)
    def on_listed(self, ev: InstrumentListed) -> None:
        inst = ev.instrument
        self.insts[inst.id] = InstInfo(inst, self.cfg)
        self._factors.clear()
        self.version += 1
        if inst.id not in self.firm_pos:
            self.firm_pos[inst.id] = [0, 0, 0]
        if inst.reference_price is not None:
            self._reference(inst.id, inst.reference_price)

    @applies(ReferencePriceSet)
    def on_reference(self, ev: ReferencePriceSet) -> None:
        self._reference(ev.instrument, ev.price)

    def _reference(self, instrument: str, price: int) -> None:
        self.reference[instrument] = price
        if instrument not in self.px:
            self.px[instrument] = price
            self.revalue_instrument(instrument)

    @applies(MarkPriceSet)
    def on_mark(self, ev: MarkPriceSet) -> None:
        self.marked.add(ev.instrument)
        if self.px.get(ev.instrument) != ev.price:
            self.px[ev.instrument] = ev.price
            self.revalue_instrument(ev.instrument)

    @applies(FxRateSet)
    def on_fx(self, ev: FxRateSet) -> None:
        self.fx.set(ev.base, ev.quote, ev.mantissa, ev.exponent)
        self.revalue_all()

    # -- orders ----------------------------------------------------------------------------------
    @applies(OrderAccepted)
    def on_accepted(self, ev: OrderAccepted) -> None:
        a = self.accounts.get(ev.account)
        if a is None:
            a = self.account(ev.account)
        inst = ev.instrument
        p = a.positions.get(inst)
        if p is None:
            p = self.position(a, inst)
        firm = p.firm
        qty = ev.qty
        if ev.side is _BUY:
            self.orders[ev.order_id] = OpenOrder(a, p, 1, qty, ev.price, ev.client_order_id)
            p.open_buy += qty
            firm[1] += qty
        else:
            self.orders[ev.order_id] = OpenOrder(a, p, -1, qty, ev.price, ev.client_order_id)
            p.open_sell += qty
            firm[2] += qty
        a.n_open += 1
        self.firm_open += 1
        if self.track_rate:
            self._accepted_rate(ev)
        if self.track_im:  # revalue_im inlined: initial margin on the worst case of the position
            if p.ver != self.version:
                self.revalue(p)
                return
            f = p.nd
            px = self.px.get(inst)
            if f is None or px is None or p.info is None:
                im = 0
            else:
                q = p.qty
                e = q + p.open_buy
                e = e if e >= 0 else -e
                s = q - p.open_sell
                s = s if s >= 0 else -s
                if s > e:
                    e = s
                im = e * px * f[0] * p.info.im_bp // (f[1] * 10_000)
            a.im += im - p.im_v
            p.im_v = im

    def _reduce(self, o: OpenOrder, q: int) -> None:
        """``q`` of an open order went away (filled, cancelled, reduced); margin is the caller's."""
        p: Position = o.pos
        firm = p.firm
        if o.sign > 0:
            p.open_buy -= q
            firm[1] -= q
        else:
            p.open_sell -= q
            firm[2] -= q
        left = o.leaves - q
        o.leaves = left
        if left <= 0:
            o.account.n_open -= 1
            self.firm_open -= 1

    @applies(OrderCancelled, OrderExpired)
    def on_closed(self, ev: OrderCancelled | OrderExpired) -> None:
        o = self.orders.pop(ev.order_id, None)
        if o is not None:  # _reduce by all that is left, inlined
            p: Position = o.pos
            q = o.leaves
            if o.sign > 0:
                p.open_buy -= q
                p.firm[1] -= q
            else:
                p.open_sell -= q
                p.firm[2] -= q
            o.leaves = 0
            o.account.n_open -= 1
            self.firm_open -= 1
            if self.track_im:
                self.revalue_im(p)

    @applies(OrderReduced)
    def on_reduced(self, ev: OrderReduced) -> None:
        self._leaves(ev.order_id, ev.leaves)

    @applies(OrderReplaced)
    def on_replaced(self, ev: OrderReplaced) -> None:
        o = self.orders.get(ev.order_id)
        if o is not None:
            o.price = ev.price
            self._leaves(ev.order_id, ev.leaves)

    def _leaves(self, oid: int, leaves: int) -> None:
        o = self.orders.get(oid)
        if o is None or leaves == o.leaves:
            return
        self._reduce(o, o.leaves - leaves)
        if leaves <= 0:
            del self.orders[oid]
        if self.track_im:
            self.revalue_im(o.pos)

    # -- fills -----------------------------------------------------------------------------------
    @applies(TradeExecuted)
    def on_trade(self, ev: TradeExecuted) -> None:
        """Open orders shrink, both sides fill, the valuation price may move."""
        q = ev.qty
        bid, sid = ev.buy_order_id, ev.sell_order_id
        if not self.track_fills:
            self._lean_trade(ev)
            return
        self._shrink_orders(q, bid, sid)
        inst = ev.instrument
        price = ev.price
        buy_inst = sell_inst = inst
        buy_px = sell_px = price
        if ev.cross_instrument is not None and ev.cross_price is not None:
            if ev.aggressor is _BUY:
                buy_inst, buy_px = ev.cross_instrument, ev.cross_price
            else:
                sell_inst, sell_px = ev.cross_instrument, ev.cross_price
        # maker: the resting side; auction fills (no resting order) are charged the maker rate
        resting = ev.resting_order_id
        tid, t = ev.trade_id, ev.time
        pb = self._fill(ev.buy_account, buy_inst, 1, buy_px, q, tid, t, resting is None or resting == bid)
        ps = self._fill(ev.sell_account, sell_inst, -1, sell_px, q, tid, t, resting is None or resting == sid)
        self.last[inst] = price
        if inst not in self.marked and self.px.get(inst) != price:
            self.px[inst] = price
            self.revalue_instrument(inst)
            if buy_inst != inst:
                self.revalue(pb)
            if sell_inst != inst:
                self.revalue(ps)
        else:
            self.revalue(pb)
            if ps is not pb:
                self.revalue(ps)

    def _lean_trade(self, ev: TradeExecuted) -> None:
        """A trade without fills kept: the two orders shrink, the valuation price may move."""
        self._shrink_orders(ev.qty, ev.buy_order_id, ev.sell_order_id)
        inst = ev.instrument
        self.last[inst] = ev.price
        if inst not in self.marked:
            self.px[inst] = ev.price

    def _trade_price(self, ev: TradeExecuted) -> None:
        """A trade without open orders kept (the matching engine keeps them): only the valuation
        price may move."""
        inst = ev.instrument
        self.last[inst] = ev.price
        if inst not in self.marked:
            self.px[inst] = ev.price

    def _accepted_rate(self, ev: OrderAccepted) -> None:
        """An acceptance without open orders kept: only the order-rate windows move."""
        # The lean path's whole applier (the pre-trade target's hot path): one call, no helper.
        a = self.accounts.get(ev.account)
        if a is None:
            a = self.account(ev.account)
        time = ev.time
        cutoff = time - RATE_WINDOW_NS
        # Unrolled for the account and the firm: a loop over a tuple measurably costs here.
        times = a.times
        times.append(time)
        if times[0] <= cutoff:
            while times[0] <= cutoff:
                times.popleft()
        times = self.firm_times
        times.append(time)
        if times[0] <= cutoff:
            while times[0] <= cutoff:
                times.popleft()

    def _shrink_orders(self, q: int, bid: int, sid: int) -> None:
        """Both orders of a trade lose ``q`` of open quantity; a filled one leaves the open set."""
        orders = self.orders
        for oid in (bid, sid):
            o = orders.get(oid)
            if o is not None:
                p: Position = o.pos
                if o.sign > 0:
                    p.open_buy -= q
                    p.firm[1] -= q
                else:
                    p.open_sell -= q
                    p.firm[2] -= q
                left = o.leaves - q
                o.leaves = left
                if left <= 0:
                    o.account.n_open -= 1
                    self.firm_open -= 1
                    del orders[oid]

    def _fill(
        self, account: str, instrument: str, sign: int, price: int, qty: int, key: int, time: int, maker: bool
    ) -> Position:
        """One side of a trade: the position, realised P&L, fees and cash (``_apply_fill`` and
        ``_cash_add`` inlined: this runs twice per trade)."""
        a = self.accounts.get(account)
        if a is None:
            a = self.account(account)
        p = a.positions.get(instrument)
        if p is None:
            p = self.position(a, instrument)
        p.fills.append((time, key, sign, price, qty, maker))
        if p.ver != self.version:
            self._refresh(p)
        q = p.qty
        sq = sign * qty
        p.firm[0] += sq
        closing = q != 0 and (q > 0) != (sign > 0)
        if not closing:
            p.qty = q + sq
            p.cost += sq * price
        else:
            aq = q if q > 0 else -q
            close = qty if qty < aq else aq
            cost = p.cost
            if close == aq:
                released = cost
            elif cost >= 0:
                released = cost * close // aq
            else:
                released = -(-cost * close // aq)
            p.realised += -sign * price * close - released
            p.cost = cost - released
            p.qty = q + sq
            rest = qty - close
            if rest:
                p.cost += sign * price * rest
        info = p.info
        if info is None:
            return p
        n, d = info.n, info.d
        delta = 0
        if closing:
            booked = p.realised * n // d
            delta = booked - p.booked
            p.booked = booked
        cfg = a.cfg
        bp = cfg.maker_fee_bp if maker else cfg.taker_fee_bp
        if bp:
            fee = -(-(price * qty * n * bp) // (d * 10_000))
            p.fees += fee
            delta -= fee
        if delta:
            ccy = info.quote
            cash = a.cash
            bal = cash.get(ccy, 0) + delta
            cash[ccy] = bal
            c = p.cconv
            v = 0 if c is None else bal * c[0] // c[1]
            a.cash_total += v - a.cash_v.get(ccy, 0)
            a.cash_v[ccy] = v
        return p

    def _apply_fill(self, p: Position, sign: int, price: int, qty: int, maker: bool) -> None:
        q = p.qty
        if q == 0 or (q > 0) == (sign > 0):
            p.qty = q + sign * qty
            p.cost += sign * price * qty
        else:
            aq = q if q > 0 else -q
            close = qty if qty < aq else aq
            cost = p.cost
            if close == aq:
                released = cost
            elif cost >= 0:
                released = cost * close // aq
            else:
                released = -(-cost * close // aq)
            p.realised += -sign * price * close - released
            p.cost = cost - released
            p.qty = q + sign * qty
            rest = qty - close
            if rest:
                p.cost += sign * price * rest
        info = self.insts.get(p.instrument)
        if info is None:
            return
        n, d = info.n, info.d
        p.booked = p.realised * n // d
        cfg = p.account.cfg
        bp = cfg.maker_fee_bp if maker else cfg.taker_fee_bp
        if bp:
            p.fees += -(-(price * qty * n * bp) // (d * 10_000))

    # -- corrections -----------------------------------------------------------------------------
    @staticmethod
    def fills_of(p: Position) -> list[tuple[int, int, int, int, int, bool]]:
        """Every fill of ``p`` (unpacking what a snapshot restored, on first use)."""
        if p.packed:
            xs = unpack_ints(p.packed).tolist()
            it = iter(xs)
            old = [(t, k, s, px, q, m == 1) for t, k, s, px, q, m in zip(it, it, it, it, it, it, strict=True)]
            p.fills = old + p.fills
            p.packed = b""
        return p.fills

    def _trade_positions(self, buy: str, sell: str, key: int) -> list[Position]:
        """The positions holding fills of trade ``key`` (the cross leg may be in another book)."""
        out: list[Position] = []
        for acct in dict.fromkeys((buy, sell)):
            a = self.accounts.get(acct)
            if a is None:
                continue
            for _, p in sorted(a.positions.items()):
                if any(f[1] == key for f in self.fills_of(p)):
                    out.append(p)
        return out

    @applies(LateTradeReported)
    def on_late(self, ev: LateTradeReported) -> None:
        if not self.track_fills:
            return
        key = -ev.report_id
        pb = self._fill(ev.buy_account, ev.instrument, 1, ev.price, ev.qty, key, ev.trade_time, True)
        ps = self._fill(ev.sell_account, ev.instrument, -1, ev.price, ev.qty, key, ev.trade_time, True)
        for p in dict.fromkeys((pb, ps)):
            self.refold(p)

    @applies(TradeBusted)
    def on_busted(self, ev: TradeBusted) -> None:
        for p in self._trade_positions(ev.buy_account, ev.sell_account, ev.trade_id):
            p.fills = [f for f in self.fills_of(p) if f[1] != ev.trade_id]
            self.refold(p)

    @applies(TradeCorrected)
    def on_corrected(self, ev: TradeCorrected) -> None:
        """New price/qty for a trade. The price is in the trade's (resting) book; a cross-currency
        aggressor leg in another book keeps its converted price and takes the new quantity."""
        tid = ev.trade_id
        for p in self._trade_positions(ev.buy_account, ev.sell_account, tid):
            same = p.instrument == ev.instrument
            p.fills = [
                (f[0], f[1], f[2], ev.price if same else f[3], ev.qty, f[5]) if f[1] == tid else f
                for f in self.fills_of(p)
            ]
            self.refold(p)

    def refold(self, p: Position) -> None:
        """Rebuild a position from its fills in (time, key) order: a bust, correction or late
        trade changes history, and average cost depends on order."""
        a = p.account
        qty0, booked0, fees0 = p.qty, p.booked, p.fees
        p.qty = p.cost = p.realised = p.booked = p.fees = 0
        fills = self.fills_of(p)
        fills.sort()
        for _, _, sign, price, qty, maker in fills:
            self._apply_fill(p, sign, price, qty, maker)
        self.firm_pos.setdefault(p.instrument, [0, 0, 0])[0] += p.qty - qty0
        info = self.insts.get(p.instrument)
        if info is not None:
            self._cash_add(a, info.quote, (p.booked - booked0) - (p.fees - fees0))
        self.revalue(p)

    # -- margin status (decided by the risk engine, folded here) ---------------------------------
    @applies(MarginWarning)
    def on_warning(self, ev: MarginWarning) -> None:
        self.account(ev.account).level = 1

    @applies(MarginCall)
    def on_call(self, ev: MarginCall) -> None:
        self.account(ev.account).level = 2

    @applies(MarginRestored)
    def on_restored(self, ev: MarginRestored) -> None:
        self.account(ev.account).level = ev.level
