"""The archive's fold: log entries in, relational row changes out. Pure (no I/O), so the same
fold feeds any database and can be tested on its own.

Tables (docs/operators.md has the columns): ``orders`` (one row per accepted order, its current
status), ``executions`` (one row per order event: NEW, TRADE, CANCELLED, ...), ``trades`` (one
per fill or late report; busts and corrections update it), ``positions`` (per trade date, account
and instrument: what was bought and sold that day), ``account_events`` (every ``account/*``
entry). Every row has the trade date it is partitioned by.

Trade dates come from a ``trade_date(venue, t)`` function the caller gives (the venue calendar's
rule); an instrument's venue is the part of its id before ``:``. Entries without an instrument
(account events) take the trade date of the first venue the log lists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import msgspec

from system.eventlog.codec import LoggedEvent

TradeDate = Callable[[str, int], date]
"""``trade_date(venue, t)``: the trade date business done on ``venue`` at ``t`` (ns) belongs to."""

OPEN = ("NEW", "PARTIALLY_FILLED")


@dataclass(slots=True)
class Order:
    """What the archive keeps of an order in memory while it is open (and in the orders table)."""

    trade_date: date
    order_id: int
    instrument: str
    account: str
    client_order_id: str
    side: str
    order_type: str
    tif: str
    price: int | None
    qty: int
    filled: int = 0
    leaves: int = 0
    status: str = "NEW"
    accepted_seq: int = 0
    accepted_time: int = 0
    updated_seq: int = 0

    def row(self) -> tuple[Any, ...]:
        return (
            self.trade_date, self.order_id, self.instrument, self.account, self.client_order_id,
            self.side, self.order_type, self.tif, self.price, self.qty, self.filled, self.leaves,
            self.status, self.accepted_seq, self.accepted_time, self.updated_seq,
        )  # fmt: skip


ORDER_COLUMNS = (
    "trade_date", "order_id", "instrument", "account", "client_order_id", "side", "order_type",
    "tif", "price", "qty", "filled", "leaves", "status", "accepted_seq", "accepted_time", "updated_seq",
)  # fmt: skip
EXECUTION_COLUMNS = (
    "trade_date", "seq", "leg", "time", "order_id", "instrument", "account", "exec_type", "side", "qty",
    "price", "leaves", "trade_id", "text",
)  # fmt: skip
TRADE_COLUMNS = (
    "trade_date", "source", "trade_id", "seq", "time", "instrument", "price", "qty", "aggressor",
    "buy_order_id", "sell_order_id", "buy_account", "sell_account", "status",
)  # fmt: skip
ACCOUNT_EVENT_COLUMNS = ("trade_date", "seq", "time", "account", "type", "payload")


@dataclass(slots=True)
class TradeFix:
    """A bust or correction of a trade stored by an earlier batch."""

    trade_date: date
    source: str
    trade_id: int
    status: str
    price: int
    qty: int


@dataclass(slots=True)
class Changes:
    """What one batch of entries does to the tables (``last_seq``/``last_hash``: the position)."""

    last_seq: int = 0
    last_hash: bytes = b""
    new_orders: dict[int, Order] = field(default_factory=dict)
    changed_orders: dict[int, Order] = field(default_factory=dict)
    executions: list[tuple[Any, ...]] = field(default_factory=list)
    trades: dict[tuple[str, int], list[Any]] = field(default_factory=dict)
    trade_fixes: list[TradeFix] = field(default_factory=list)
    # (trade_date, account, instrument) -> [bought, sold, buy_notional, sell_notional, trades]
    positions: dict[tuple[date, str, str], list[int]] = field(default_factory=dict)
    account_events: list[tuple[Any, ...]] = field(default_factory=list)

    def dates(self) -> set[date]:
        """Every trade date a row of this batch lands on (its partitions must exist)."""
        out = {o.trade_date for o in self.new_orders.values()}
        out.update(r[0] for r in self.executions)
        out.update(t[0] for t in self.trades.values())
        out.update(k[0] for k in self.positions)
        out.update(r[0] for r in self.account_events)
        return out


_json = msgspec.json.Encoder()


class ArchiveFold:
    """Turns batches of entries into ``Changes``, keeping open orders in memory.

    ``load_order(order_id)`` fetches an order this process has not seen (after a restart) from
    the archive itself, so the fold resumes exactly where the stored rows are.
    """

    def __init__(self, trade_date: TradeDate, load_order: Callable[[int], Order | None]) -> None:
        self._trade_date = trade_date
        self._load_order = load_order
        self.orders: dict[int, Order] = {}
        self.default_venue = ""
        self._handlers: dict[str, Callable[[LoggedEvent, Any, Changes], None]] = {
            "InstrumentListed": self._listed,
            "OrderAccepted": self._accepted,
            "OrderRejected": self._rejected,
            "TradeExecuted": self._trade,
            "OrderCancelled": self._cancelled,
            "OrderExpired": self._expired,
            "OrderReduced": self._reduced,
            "OrderReplaced": self._replaced,
            "StopTriggered": self._triggered,
            "TradeBusted": self._busted,
            "TradeCorrected": self._corrected,
            "LateTradeReported": self._late,
        }

    def date_of(self, instrument: str, t: int) -> date:
        return self._trade_date(instrument.partition(":")[0], t)

    def fold(self, batch: Sequence[LoggedEvent]) -> Changes:
        ch = Changes()
        handlers = self._handlers
        for ev in batch:
            h = handlers.get(ev.type)
            if h is not None:
                h(ev, ev.record, ch)
            elif ev.stream.startswith("account/"):
                self._account(ev, ev.record, ch)
        if batch:
            ch.last_seq = batch[-1].seq
            ch.last_hash = batch[-1].hash
        # Orders that closed stop being kept in memory; the table has them.
        for oid, o in list(ch.changed_orders.items()) + list(ch.new_orders.items()):
            if o.status not in OPEN:
                self.orders.pop(oid, None)
        return ch

    # -- orders ----------------------------------------------------------------------------------
    def _order(self, oid: int | None, ch: Changes) -> Order | None:
        if oid is None:
            return None
        o = self.orders.get(oid)
        if o is None:
            o = self._load_order(oid)
            if o is None:
                return None
            self.orders[oid] = o
        if oid not in ch.new_orders:
            ch.changed_orders[oid] = o
        return o

    def _exec(
        self, ch: Changes, ev: LoggedEvent, o: Order | None, kind: str, qty: int, price: int | None,
        trade_id: int | None = None, text: str = "", *, instrument: str = "", account: str = "",
        side: str = "",
    ) -> None:  # fmt: skip
        if o is not None:
            d, oid, instrument, account, side = o.trade_date, o.order_id, o.instrument, o.account, o.side
            leaves: int | None = o.leaves
        else:
            d, oid, leaves = self.date_of(instrument, ev.valid_time), None, None
        rows = ch.executions
        # A trade gives two rows under one seq (buy side leg 0, sell side leg 1).
        leg = rows[-1][2] + 1 if rows and rows[-1][1] == ev.seq else 0
        rows.append(
            (d, ev.seq, leg, ev.valid_time, oid, instrument, account, kind, side, qty, price, leaves,
             trade_id, text)
        )  # fmt: skip

    def _listed(self, ev: LoggedEvent, r: Any, ch: Changes) -> None:
        if not self.default_venue:
            self.default_venue = r.instrument.venue

    def _accepted(self, ev: LoggedEvent, r: Any, ch: Changes) -> None:
        o = Order(
            self.date_of(r.instrument, ev.valid_time), r.order_id, r.instrument, r.account,
            r.client_order_id, str(r.side), str(r.order_type), str(r.tif), r.price, r.qty,
            0, r.qty, "NEW", ev.seq, ev.valid_time, ev.seq,
        )  # fmt: skip
        self.orders[r.order_id] = o
        ch.new_orders[r.order_id] = o
        self._exec(ch, ev, o, "NEW", r.qty, r.price)

    def _rejected(self, ev: LoggedEvent, r: Any, ch: Changes) -> None:
        self._exec(
            ch, ev, None, "REJECTED", 0, None, None, f"{r.reason}: {r.text}",
            instrument=r.instrument, account=r.account,
        )  # fmt: skip

    def _fill(self, ev: LoggedEvent, oid: int, qty: int, price: int, tid: int, ch: Changes) -> None:
        o = self._order(oid, ch)
        if o is None:
            return
        o.filled += qty
        o.leaves = max(o.leaves - qty, 0)
        o.status = "FILLED" if o.leaves == 0 else "PARTIALLY_FILLED"
        o.updated_seq = ev.seq
        self._exec(ch, ev, o, "TRADE", qty, price, tid)

    def _position(self, ch: Changes, d: date, account: str, instrument: str, sign: int, buy: bool,
                  qty: int, price: int, count: int) -> None:  # fmt: skip
        key = (d, account, instrument)
        p = ch.positions.get(key)
        if p is None:
            p = ch.positions[key] = [0, 0, 0, 0, 0]
        if buy:
            p[0] += sign * qty
            p[2] += sign * qty * price
        else:
            p[1] += sign * qty
            p[3] += sign * qty * price
        p[4] += count

    def _both_sides(self, ch: Changes, d: date, r: Any, sign: int, qty: int, price: int, count: int) -> None:
        self._position(ch, d, r.buy_account, r.instrument, sign, True, qty, price, count)
        self._position(ch, d, r.sell_account, r.instrument, sign, False, qty, price, count)

    def _trade(self, ev: LoggedEvent, r: Any, ch: Changes) -> None:
        d = self.date_of(r.instrument, ev.valid_time)
        ch.trades[("engine", r.trade_id)] = [
            d, "engine", r.trade_id, ev.seq, r.time, r.instrument, r.price, r.qty,
            None if r.aggressor is None else str(r.aggressor), r.buy_order_id, r.sell_order_id,
            r.buy_account, r.sell_account, "EXECUTED",
        ]  # fmt: skip
        self._both_sides(ch, d, r, 1, r.qty, r.price, 1)
        self._fill(ev, r.buy_order_id, r.qty, r.price, r.trade_id, ch)
        self._fill(ev, r.sell_order_id, r.qty, r.price, r.trade_id, ch)

    def _close(self, ev: LoggedEvent, r: Any, ch: Changes, status: str, kind: str) -> None:
        o = self._order(r.order_id, ch)
        if o is None:
            return
        o.leaves = 0
        o.status = status
        o.updated_seq = ev.seq
        self._exec(ch, ev, o, kind, r.qty, None, None, str(r.reason))

    def _cancelled(self, ev: LoggedEvent, r: Any, ch: Changes) -> None:
        self._close(ev, r, ch, "CANCELLED", "CANCELLED")

    def _expired(self, ev: LoggedEvent, r: Any, ch: Changes) -> None:
        self._close(ev, r, ch, "EXPIRED", "EXPIRED")

    def _reduced(self, ev: LoggedEvent, r: Any, ch: Changes) -> None:
        o = self._order(r.order_id, ch)
        if o is None:
            return
        o.leaves = r.leaves
        o.qty -= r.qty
        if o.leaves == 0:
            o.status = "CANCELLED"
        o.updated_seq = ev.seq
        self._exec(ch, ev, o, "REDUCED", r.qty, None, None, str(r.reason))

    def _replaced(self, ev: LoggedEvent, r: Any, ch: Changes) -> None:
        o = self._order(r.order_id, ch)
        if o is None:
            return
        o.price, o.qty, o.leaves = r.price, r.qty, r.leaves
        o.updated_seq = ev.seq
        self._exec(ch, ev, o, "REPLACED", r.qty, r.price)

    def _triggered(self, ev: LoggedEvent, r: Any, ch: Changes) -> None:
        o = self._order(r.order_id, ch)
        if o is None:
            return
        o.updated_seq = ev.seq
        self._exec(ch, ev, o, "TRIGGERED", 0, r.trigger_price)

    # -- corrections -----------------------------------------------------------------------------
    def _fix(self, ch: Changes, d: date, source: str, tid: int, status: str, price: int, qty: int) -> None:
        pending = ch.trades.get((source, tid))
        if pending is not None:
            pending[13], pending[6], pending[7] = status, price, qty
        else:
            ch.trade_fixes.append(TradeFix(d, source, tid, status, price, qty))

    def _busted(self, ev: LoggedEvent, r: Any, ch: Changes) -> None:
        d = self.date_of(r.instrument, r.trade_time)
        self._fix(ch, d, "engine", r.trade_id, "BUSTED", r.price, r.qty)
        self._both_sides(ch, d, r, -1, r.qty, r.price, -1)

    def _corrected(self, ev: LoggedEvent, r: Any, ch: Changes) -> None:
        d = self.date_of(r.instrument, r.trade_time)
        self._fix(ch, d, "engine", r.trade_id, "CORRECTED", r.price, r.qty)
        self._both_sides(ch, d, r, -1, r.old_qty, r.old_price, 0)
        self._both_sides(ch, d, r, 1, r.qty, r.price, 0)

    def _late(self, ev: LoggedEvent, r: Any, ch: Changes) -> None:
        d = self.date_of(r.instrument, r.trade_time)
        ch.trades[("late", r.report_id)] = [
            d, "late", r.report_id, ev.seq, r.trade_time, r.instrument, r.price, r.qty, None, None,
            None, r.buy_account, r.sell_account, "LATE",
        ]  # fmt: skip
        self._both_sides(ch, d, r, 1, r.qty, r.price, 1)

    # -- accounts --------------------------------------------------------------------------------
    def _account(self, ev: LoggedEvent, r: Any, ch: Changes) -> None:
        account = ev.stream.partition("/")[2]
        d = self._trade_date(self.default_venue, ev.valid_time)
        ch.account_events.append(
            (d, ev.seq, ev.valid_time, account, ev.type, _json.encode(r).decode())
        )
