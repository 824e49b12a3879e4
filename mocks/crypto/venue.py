"""One crypto venue's trading core, whatever API it speaks: the venue's precision rules, then
Chronex's own matching engine over a Chronex log, so orders really match and every order is an
event (``OrderAccepted``, ``TradeExecuted``...) in that log.

The API styles (``mocks.crypto.styles``) only decode a request, call ``place``/``cancel``/``get``
and encode the answer or the ``Refusal`` in their venue's words. Execution reports and trades go
to listeners (the WebSocket feeds). It runs on the asyncio loop's one thread: that thread is the
sequencer, so no lock is needed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from mocks.base import MockError
from mocks.crypto.profile import SymbolRule, VenueProfile
from system.bootstrap import SystemConfig, TradingSystem
from system.clock import Clock
from system.engine import Instrument
from system.engine.commands import CancelOrder, SubmitOrder
from system.engine.events import OrderAccepted, OrderCancelled, OrderExpired, OrderRejected, TradeExecuted
from system.engine.orders import CancelReason, OrderType, RejectReason, Side, TimeInForce
from system.eventlog import open_log

__all__ = ["Execution", "OrderState", "Refusal", "Trade", "Venue"]


class Refusal(Exception):
    """An order or cancel the venue refuses. ``kind`` is the venue-neutral reason the API style
    maps to its own error code: unknown_symbol, bad_qty, bad_price, price_tick, qty_lot, min_qty,
    min_notional, unknown_order, duplicate_order, post_only, rejected."""

    def __init__(self, kind: str, text: str, *, field: str = "", value: str = "", limit: str = "") -> None:
        super().__init__(text)
        self.kind, self.text, self.field, self.value, self.limit = kind, text, field, value, limit


@dataclass
class OrderState:
    order_id: int
    client_id: str
    account: str
    symbol: str
    side: Side
    type: OrderType
    tif: TimeInForce
    price: Decimal | None
    qty: Decimal
    time_ns: int
    post_only: bool = False
    filled: Decimal = Decimal(0)
    quote_filled: Decimal = Decimal(0)
    status: str = "NEW"  # NEW, PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED
    fills: list[Trade] = field(default_factory=list)
    done_ns: int | None = None

    @property
    def open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")

    @property
    def leaves(self) -> Decimal:
        return self.qty - self.filled if self.open else Decimal(0)


@dataclass(frozen=True)
class Trade:
    trade_id: int
    symbol: str
    price: Decimal
    qty: Decimal
    aggressor: Side | None
    buy_order_id: int
    sell_order_id: int
    time_ns: int


@dataclass(frozen=True)
class Execution:
    """One change to one order, as a WebSocket execution report says it: ``kind`` is NEW, TRADE,
    CANCELED or EXPIRED; ``trade`` is set for TRADE (``maker`` if this order was resting)."""

    kind: str
    order: OrderState
    trade: Trade | None = None
    maker: bool = False


def _units(value: Decimal, step: Decimal) -> int | None:
    q = value / step
    return int(q) if q == q.to_integral_value() else None


def _plain(d: Decimal | int) -> str:
    """A decimal as exchanges print it: no exponent, no trailing zeros past the point."""
    s = format(d, "f")
    return s.rstrip("0").rstrip(".") if "." in s else s


class Venue:
    def __init__(self, profile: VenueProfile, clock: Clock, *, seed: int = 0) -> None:
        self.profile = profile
        self.clock = clock
        self.seed = seed
        self.rules = {s.symbol: s for s in profile.symbols}
        insts = tuple(self._instrument(s) for s in profile.symbols)
        try:
            store = open_log(profile.log, clock)
        except Exception as e:  # a bad URL or an unreachable server, named for the operator
            raise MockError(f"crypto mock {profile.name!r}: log = {profile.log!r}: {e}") from None
        config = SystemConfig(
            seed=seed, instruments=insts, venues=(profile.name,), label=f"mock {profile.name}"
        )
        self.system = TradingSystem(config, store, clock)
        self.system.start()
        self.orders: dict[int, OrderState] = {}
        self._by_client: dict[tuple[str, str], int] = {}
        self._cids = itertools.count(1)
        self.last_price: dict[str, Decimal] = {}
        self.on_execution: list[Callable[[Execution], None]] = []
        self.on_trade: list[Callable[[Trade], None]] = []

    def _instrument(self, s: SymbolRule) -> Instrument:
        return Instrument(
            f"{self.profile.name}:{s.symbol}",
            self.profile.name,
            s.symbol,
            s.base,
            s.quote,
            price_increment=_plain(s.tick),
            qty_increment=_plain(s.lot),
        )

    def inst_id(self, symbol: str) -> str:
        return f"{self.profile.name}:{symbol}"

    def rule(self, symbol: str) -> SymbolRule:
        r = self.rules.get(symbol)
        if r is None:
            raise Refusal("unknown_symbol", f"unknown symbol {symbol!r}", field="symbol", value=symbol)
        return r

    # -- commands ---------------------------------------------------------------------------------
    def check(self, rule: SymbolRule, qty: Decimal, price: Decimal | None) -> tuple[int, int | None]:
        """The venue's precision rules; the integer units the engine takes."""
        if not qty.is_finite() or qty <= 0:
            raise Refusal("bad_qty", f"quantity {qty} must be positive", field="qty", value=str(qty))
        p_units = None
        if price is not None:
            if not price.is_finite() or price <= 0:
                raise Refusal("bad_price", f"price {price} must be positive", field="price", value=str(price))
            p_units = _units(price, rule.tick)
            if p_units is None:
                raise Refusal(
                    "price_tick",
                    f"price {price} is not a multiple of tick {rule.tick}",
                    field="price",
                    value=str(price),
                    limit=_plain(rule.tick),
                )
        q_units = _units(qty, rule.lot)
        if q_units is None:
            raise Refusal(
                "qty_lot",
                f"quantity {qty} is not a multiple of lot {rule.lot}",
                field="qty",
                value=str(qty),
                limit=_plain(rule.lot),
            )
        if qty < rule.min_qty:
            raise Refusal(
                "min_qty",
                f"quantity {qty} is below the minimum {rule.min_qty}",
                field="qty",
                value=str(qty),
                limit=_plain(rule.min_qty),
            )
        ref = price if price is not None else self.last_price.get(rule.symbol)
        if ref is not None and ref * qty < rule.min_notional:
            raise Refusal(
                "min_notional",
                f"notional {ref * qty} is below the minimum {rule.min_notional}",
                field="qty",
                value=str(qty),
                limit=_plain(rule.min_notional),
            )
        return q_units, p_units

    def place(
        self,
        account: str,
        symbol: str,
        side: Side,
        order_type: OrderType,
        qty: Decimal,
        price: Decimal | None = None,
        *,
        tif: TimeInForce = TimeInForce.GTC,
        client_id: str = "",
        post_only: bool = False,
    ) -> OrderState:
        rule = self.rule(symbol)
        if order_type is OrderType.LIMIT and price is None:
            raise Refusal("bad_price", "a limit order needs a price", field="price", value="")
        if order_type is OrderType.MARKET:
            price, tif = None, TimeInForce.IOC
        q_units, p_units = self.check(rule, qty, price)
        cid = client_id or f"{self.profile.name}-{self.seed}-{next(self._cids)}"
        prev = self._by_client.get((account, cid))
        if prev is not None and self.orders[prev].open:
            raise Refusal(
                "duplicate_order", f"client order id {cid!r} is in use", field="client_id", value=cid
            )
        cmd = SubmitOrder(
            account,
            cid,
            self.inst_id(symbol),
            side,
            q_units,
            order_type=order_type,
            price=p_units,
            tif=tif,
            post_only=post_only,
        )
        now = self.clock.now_ns()
        records = self.system.execute(cmd).records
        state: OrderState | None = None
        out: list[Execution] = []
        trades: list[Trade] = []
        for ev in records:
            if isinstance(ev, OrderRejected):
                kind = {
                    RejectReason.POST_ONLY_WOULD_CROSS: "post_only",
                    RejectReason.DUPLICATE_CLIENT_ORDER_ID: "duplicate_order",
                }.get(ev.reason, "rejected")
                raise Refusal(kind, ev.text, field=ev.field, value=ev.value)
            if isinstance(ev, OrderAccepted) and ev.client_order_id == cid and ev.account == account:
                state = OrderState(
                    ev.order_id, cid, account, symbol, side, order_type, tif, price, qty, now, post_only
                )
                self.orders[ev.order_id] = state
                self._by_client[(account, cid)] = ev.order_id
                out.append(Execution("NEW", state))
            else:
                self._apply(ev, rule, out, trades)
        assert state is not None, "the engine accepted no order and rejected none"
        self._publish(out, trades)
        return state

    def cancel(
        self, account: str, symbol: str, order_id: int | None = None, client_id: str = ""
    ) -> OrderState:
        rule = self.rule(symbol)
        st = self.find(account, symbol, order_id, client_id)
        if not st.open:
            raise Refusal("unknown_order", "the order is not open", field="order_id", value=str(st.order_id))
        records = self.system.execute(CancelOrder(account, self.inst_id(symbol), st.order_id)).records
        out: list[Execution] = []
        trades: list[Trade] = []
        for ev in records:
            if isinstance(ev, OrderRejected):
                raise Refusal("unknown_order", ev.text, field="order_id", value=str(st.order_id))
            self._apply(ev, rule, out, trades)
        self._publish(out, trades)
        return st

    def find(self, account: str, symbol: str | None, order_id: int | None, client_id: str = "") -> OrderState:
        oid = order_id if order_id is not None else self._by_client.get((account, client_id))
        st = self.orders.get(oid) if oid is not None else None
        if st is None or st.account != account or (symbol is not None and st.symbol != symbol):
            raise Refusal("unknown_order", "order does not exist", field="order_id", value=str(order_id))
        return st

    # -- events -> order states -------------------------------------------------------------------
    def _apply(self, ev: object, rule: SymbolRule, out: list[Execution], trades: list[Trade]) -> None:
        if isinstance(ev, TradeExecuted):
            r = self.rules[ev.instrument.partition(":")[2]]
            t = Trade(
                ev.trade_id,
                r.symbol,
                ev.price * r.tick,
                ev.qty * r.lot,
                ev.aggressor,
                ev.buy_order_id,
                ev.sell_order_id,
                ev.time,
            )
            trades.append(t)
            self.last_price[r.symbol] = t.price
            for oid in (ev.buy_order_id, ev.sell_order_id):
                st = self.orders.get(oid)
                if st is None:
                    continue
                st.filled += t.qty
                st.quote_filled += t.qty * t.price
                st.fills.append(t)
                st.status = "FILLED" if st.filled >= st.qty else "PARTIALLY_FILLED"
                if st.status == "FILLED":
                    st.done_ns = ev.time
                out.append(Execution("TRADE", st, t, maker=oid == ev.resting_order_id))
        elif isinstance(ev, (OrderCancelled, OrderExpired)):
            st = self.orders.get(ev.order_id)
            if st is not None:
                # Binance reports an IOC/FOK/market remainder the book could not fill as EXPIRED,
                # keeping CANCELED for a cancel someone asked for.
                asked = isinstance(ev, OrderCancelled) and ev.reason is CancelReason.USER
                st.status = "CANCELED" if asked else "EXPIRED"
                st.done_ns = self.clock.now_ns()
                out.append(Execution(st.status, st))

    def _publish(self, out: list[Execution], trades: list[Trade]) -> None:
        for t in trades:
            for on_trade in list(self.on_trade):
                on_trade(t)
        for x in out:
            for on_exec in list(self.on_execution):
                on_exec(x)

    # -- queries ----------------------------------------------------------------------------------
    def depth(
        self, symbol: str, limit: int = 100
    ) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """(bids best first, asks best first) as (price, quantity) decimals."""
        rule = self.rule(symbol)
        view = self.system.engine.book(self.inst_id(symbol))
        bids = [(lv.price * rule.tick, lv.qty * rule.lot) for lv in view.bids[:limit]]
        asks = [(lv.price * rule.tick, lv.qty * rule.lot) for lv in view.asks[:limit]]
        return bids, asks

    def open_orders(self, account: str, symbol: str | None = None) -> list[OrderState]:
        return [
            o
            for o in self.orders.values()
            if o.account == account and o.open and (symbol is None or o.symbol == symbol)
        ]


plain = _plain
