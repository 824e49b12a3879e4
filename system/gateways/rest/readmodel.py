"""The REST gateway's read models: orders, trades and account events, folded as the log grows.

A ``Subscriber`` on the sequencer (the subscription seam), so queries read memory and never fold
the log per request. Books, positions, balances, P&L, margin and bars come from the server's own
projections (``MarketData``, ``AccountsProjection``, ``BarProjection``) when its build has them;
otherwise the gateway folds its own instances of them here, from the same entries.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from system.engine.events import (
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderReduced,
    OrderRejected,
    OrderReplaced,
    TradeExecuted,
)
from system.eventlog.codec import LoggedEvent
from system.runtime import Projection

ACCOUNT_EVENTS = frozenset(
    {
        "MarginWarning",
        "MarginCall",
        "MarginRestored",
        "KillSwitchEngaged",
        "KillSwitchReleased",
        "LimitBreached",
    }
)


class OrderRow(msgspec.Struct, gc=False):
    """One order as the log tells it (integer units).

    Rows are untracked by the cycle collector (``gc=False``: they hold only atoms): a served day
    keeps one per order and one per trade, and as tracked objects they filled the collector's
    middle generation, whose collections held the GIL (and every REST query) for tens of ms.
    """

    order_id: int
    account: str
    instrument: str
    client_order_id: str
    side: str
    order_type: str
    price: int | None
    stop_price: int | None
    qty: int
    tif: str
    filled: int = 0
    leaves: int = 0
    status: str = "NEW"
    reason: str = ""
    accepted_seq: int = 0
    last_seq: int = 0
    notional: int = 0  # sum of price x qty over fills: the average price is notional / filled


class TradeRow(msgspec.Struct, frozen=True, gc=False):
    seq: int
    trade_id: int
    instrument: str
    price: int
    qty: int
    aggressor: str | None
    buy_account: str
    sell_account: str
    buy_order_id: int
    sell_order_id: int
    time: int


@dataclass(slots=True, frozen=True)
class AccountEventRow:
    seq: int
    time: int
    type: str
    account: str
    payload: dict[str, Any]


@dataclass
class ReadModel:
    """Follows the log from ``position`` (0: from the start)."""

    name: str = "rest-readmodel"
    extra: list[Projection] = field(default_factory=list)  # projections the host lacks
    pos: int = 0
    orders: dict[int, OrderRow] = field(default_factory=dict)
    orders_of: dict[str, list[int]] = field(default_factory=dict)
    trades: list[TradeRow] = field(default_factory=list)
    trade_times: list[int] = field(default_factory=list)
    trades_of_instrument: dict[str, list[int]] = field(default_factory=dict)
    trades_of_account: dict[str, list[int]] = field(default_factory=dict)
    account_events: dict[str, list[AccountEventRow]] = field(default_factory=dict)

    def position(self) -> int:
        return self.pos

    def handle(self, batch: Sequence[LoggedEvent]) -> None:
        extra = self.extra
        for ev in batch:
            for p in extra:
                p.handle(ev)
            self._fold(ev)
        self.pos = batch[-1].seq

    def _fold(self, ev: LoggedEvent) -> None:
        rec = ev.record
        t = type(rec)
        if t is OrderAccepted:
            a: OrderAccepted = rec  # type: ignore[assignment]
            row = OrderRow(
                a.order_id, a.account, a.instrument, a.client_order_id, str(a.side), str(a.order_type),
                a.price, a.stop_price, a.qty, str(a.tif), leaves=a.qty, accepted_seq=ev.seq,
                last_seq=ev.seq,
            )  # fmt: skip
            self.orders[a.order_id] = row
            self.orders_of.setdefault(a.account, []).append(a.order_id)
        elif t is TradeExecuted:
            tr: TradeExecuted = rec  # type: ignore[assignment]
            row_t = TradeRow(
                ev.seq, tr.trade_id, tr.instrument, tr.price, tr.qty,
                None if tr.aggressor is None else str(tr.aggressor), tr.buy_account, tr.sell_account,
                tr.buy_order_id, tr.sell_order_id, tr.time,
            )  # fmt: skip
            i = len(self.trades)
            self.trades.append(row_t)
            self.trade_times.append(tr.time)
            self.trades_of_instrument.setdefault(tr.instrument, []).append(i)
            self.trades_of_account.setdefault(tr.buy_account, []).append(i)
            if tr.sell_account != tr.buy_account:
                self.trades_of_account.setdefault(tr.sell_account, []).append(i)
            for oid in (tr.buy_order_id, tr.sell_order_id):
                o = self.orders.get(oid)
                if o is not None:
                    # A cross-currency fill is booked at the converted price in the other book.
                    px = (
                        tr.cross_price
                        if tr.cross_price is not None and o.instrument != tr.instrument
                        else tr.price
                    )
                    o.filled += tr.qty
                    o.leaves = max(0, o.leaves - tr.qty)
                    o.notional += px * tr.qty
                    o.status = "FILLED" if o.leaves == 0 else "PARTIALLY_FILLED"
                    o.last_seq = ev.seq
        elif t is OrderCancelled or t is OrderExpired:
            o = self.orders.get(rec.order_id)  # type: ignore[attr-defined]
            if o is not None:
                o.leaves = 0
                o.status = "CANCELLED" if t is OrderCancelled else "EXPIRED"
                o.reason = str(rec.reason)  # type: ignore[attr-defined]
                o.last_seq = ev.seq
        elif t is OrderReplaced:
            rp: OrderReplaced = rec  # type: ignore[assignment]
            o = self.orders.get(rp.order_id)
            if o is not None:
                o.price, o.qty, o.leaves, o.last_seq = rp.price, rp.qty, rp.leaves, ev.seq
        elif t is OrderReduced:
            rd: OrderReduced = rec  # type: ignore[assignment]
            o = self.orders.get(rd.order_id)
            if o is not None:
                o.leaves, o.last_seq = rd.leaves, ev.seq
                o.qty = o.filled + rd.leaves
                if rd.leaves == 0:
                    o.status = "CANCELLED"
                    o.reason = str(rd.reason)
        elif t is OrderRejected:
            pass  # a rejected submit never became an order; its answer went to the caller
        elif ev.type in ACCOUNT_EVENTS:
            acct = str(rec.account)  # type: ignore[attr-defined]
            self.account_events.setdefault(acct, []).append(
                AccountEventRow(ev.seq, ev.valid_time, ev.type, acct, _plain(rec))
            )

    # -- queries ---------------------------------------------------------------------------------
    def orders_of_account(self, account: str, *, open_only: bool = False) -> list[OrderRow]:
        rows = [self.orders[i] for i in self.orders_of.get(account, ())]
        if open_only:
            rows = [o for o in rows if o.leaves > 0 and o.status in ("NEW", "PARTIALLY_FILLED")]
        return rows

    def find_trades(
        self,
        *,
        instrument: str | None = None,
        account: str | None = None,
        start: int | None = None,
        end: int | None = None,
        limit: int = 1000,
    ) -> list[TradeRow]:
        """Trades in log order, filtered; ``start``/``end`` bound the valid time (end excluded)."""
        if account is not None:
            idx: Sequence[int] = self.trades_of_account.get(account, [])
        elif instrument is not None:
            idx = self.trades_of_instrument.get(instrument, [])
        else:
            lo = 0 if start is None else bisect.bisect_left(self.trade_times, start)
            idx = range(lo, len(self.trades))
        out: list[TradeRow] = []
        for i in idx:
            tr = self.trades[i]
            if instrument is not None and tr.instrument != instrument:
                continue
            if (start is not None and tr.time < start) or (end is not None and tr.time >= end):
                continue
            out.append(tr)
            if len(out) >= limit:
                break
        return out


def _plain(rec: Any) -> dict[str, Any]:
    import msgspec

    out: dict[str, Any] = msgspec.to_builtins(rec)
    return out
