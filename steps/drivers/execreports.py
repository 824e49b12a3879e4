"""What a target's execution reports mean in Chronex terms: FIX answers in, order events out.

An external target publishes no log, only FIX: ExecutionReports (35=8), OrderCancelReject (35=9).
``Translator`` turns them into the order events Chronex's engine would have logged for the same
flow (``OrderAccepted``, ``TradeExecuted``, ``OrderCancelled`` ...), keyed by the scenario's own
client order ids, so the steps read an outside system exactly as they read Chronex.

Id mapping: the target's OrderIDs (any text) become local integer ids in order of first
appearance; the driver sends the target's own OrderID back on cancels and replaces.

What an execution report cannot say, and how it is filled in:
- a trade's two sides arrive as two fills; one fill of each side at the same price and quantity
  make one ``TradeExecuted`` (both counterparties must be the scenario's accounts);
- the aggressor is the order the current action sent (None otherwise: an auction);
- whether a replace kept time priority is not published: the reference rule is assumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from system.engine import (
    CancelReason,
    Instrument,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderReduced,
    OrderRejected,
    OrderReplaced,
    RejectReason,
    Side,
    SubmitOrder,
    TradeExecuted,
)
from system.engine.deviations import REFERENCE
from system.engine.orders import ExpireReason
from system.gateways.fix.codec import parse_timestamp
from system.gateways.fix.mapping import CXL_REJ, ORD_REJ
from system.gateways.fix.message import FixMessage


@dataclass
class TargetOrder:
    """One of our orders as the target reported it."""

    local_id: int
    target_id: str
    name: str  # the scenario's client order id
    cmd: SubmitOrder
    inst: Instrument
    clid: str  # the ClOrdID to cancel or replace it by
    price: int | None
    qty: int
    leaves: int
    display: int


@dataclass
class Pending:
    """A request sent and not yet answered: what it was, for whom."""

    kind: str  # SubmitOrder, CancelOrder, ReplaceOrder, CancelAllOrders
    cmd: Any
    order: TargetOrder | None = None


@dataclass
class _Fill:
    order: TargetOrder
    price: int
    qty: int
    time: int


@dataclass
class Translator:
    instruments: dict[str, Instrument]
    orders: dict[str, TargetOrder] = field(default_factory=dict)  # by target OrderID
    by_local: dict[int, TargetOrder] = field(default_factory=dict)
    pending: dict[str, Pending] = field(default_factory=dict)  # by the ClOrdID we sent
    acting: str | None = None  # the ClOrdID of the action under way (its order is the aggressor)
    fills: list[_Fill] = field(default_factory=list)  # one side of a trade, waiting for the other
    problems: list[str] = field(default_factory=list)
    _trade: int = 0

    def name_of(self, local_id: int | None) -> str:
        o = None if local_id is None else self.by_local.get(local_id)
        return "" if o is None else o.name

    def unpaired(self) -> list[str]:
        return [f"{f.order.name} filled {f.qty} at {f.price} (no counter fill)" for f in self.fills]

    # -- in ----------------------------------------------------------------------------------------
    def translate(self, msg: FixMessage, now: int) -> list[tuple[Any, int]]:
        """The order events ``msg`` means, each with its valid time (TransactTime, else ``now``)."""
        t = _time(msg, now)
        if msg.msg_type == "9":
            return [(self._cancel_reject(msg), t)]
        if msg.msg_type != "8":
            return []
        exec_type = msg.get_str(150) or ""
        if exec_type == "0":
            rec = self._accepted(msg, t)
            return [] if rec is None else [(rec, t)]
        if exec_type == "8" or (msg.get_str(39) == "8" and exec_type != "I"):
            return [(self._rejected(msg), t)]
        o = self.orders.get(msg.get_str(37) or "")
        if o is None:
            self.problems.append(f"execution report for unknown OrderID {msg.get_str(37)!r}: {_text(msg)}")
            return []
        self._answered(msg, o)
        leaves = self._units(msg.get(151), o.inst.qty_increment)
        if exec_type in ("F", "1", "2"):
            return self._fill(msg, o, t)
        if exec_type == "4":
            left, o.leaves = o.leaves, 0
            return [
                (OrderCancelled(o.local_id, o.inst.id, o.cmd.account, o.name, left, _cancel_reason(msg)), t)
            ]
        if exec_type == "C":
            left, o.leaves = o.leaves, 0
            return [
                (OrderExpired(o.local_id, o.inst.id, o.cmd.account, o.name, left, _expire_reason(msg)), t)
            ]
        if exec_type == "5":
            price = self._units(msg.get(44), o.inst.price_increment) if msg.get(44) is not None else o.price
            new_qty = self._units(msg.get(38), o.inst.qty_increment)
            new_leaves = o.leaves if leaves is None else leaves
            keeps = REFERENCE.replace_keeps_priority(price == o.price, True, new_leaves, o.leaves)
            o.price, o.leaves = price, new_leaves
            o.qty = o.qty if new_qty is None else new_qty
            return [(OrderReplaced(o.local_id, o.inst.id, o.cmd.account, price, o.qty, new_leaves, o.display,
                                   keeps), t)]  # fmt: skip
        if exec_type == "D" and leaves is not None and leaves < o.leaves:  # else a restatement only
            cut, o.leaves = o.leaves - leaves, leaves
            rsn = _cancel_reason(msg, CancelReason.STP)
            return [(OrderReduced(o.local_id, o.inst.id, o.cmd.account, cut, leaves, rsn), t)]
        return []

    def _answered(self, msg: FixMessage, o: TargetOrder) -> None:
        clid = msg.get_str(11)
        if clid and clid in self.pending:
            p = self.pending.pop(clid)
            if p.kind == "CancelOrder" or (p.kind == "ReplaceOrder" and msg.get_str(150) == "5"):
                o.clid = clid

    def _accepted(self, msg: FixMessage, t: int) -> OrderAccepted | None:
        clid = msg.get_str(11) or ""
        p = self.pending.pop(clid, None)
        if p is None or p.kind != "SubmitOrder":
            self.problems.append(f"a New report for a ClOrdID we did not send: {_text(msg)}")
            return None
        c: SubmitOrder = p.cmd
        inst = self.instruments[c.instrument]
        tid = msg.get_str(37) or clid
        o = TargetOrder(len(self.by_local) + 1, tid, c.client_order_id, c, inst, clid, c.price, c.qty, c.qty,
                        c.display_qty)  # fmt: skip
        self.orders[tid] = o
        self.by_local[o.local_id] = o
        return OrderAccepted(
            o.local_id, c.instrument, c.account, c.client_order_id, c.side, c.qty, c.order_type, c.price,
            c.stop_price, c.tif, c.expire_time, c.post_only, c.display_qty, c.stp, c.cross_currency, t,
        )  # fmt: skip

    def _rejected(self, msg: FixMessage) -> OrderRejected:
        clid = msg.get_str(11) or ""
        p = self.pending.pop(clid, None)
        c = p.cmd if p is not None else None
        reason, text = _reject_reason(msg, ORD_REJ)
        return OrderRejected(
            "SubmitOrder",
            getattr(c, "instrument", msg.get_str(55) or ""),
            getattr(c, "account", msg.get_str(1) or ""),
            getattr(c, "client_order_id", clid),
            reason,
            text,
        )

    def _cancel_reject(self, msg: FixMessage) -> OrderRejected:
        clid = msg.get_str(11) or ""
        p = self.pending.pop(clid, None)
        command = "ReplaceOrder" if msg.get_str(434) == "2" else "CancelOrder"
        reason, text = _reject_reason(msg, CXL_REJ)
        o = p.order if p is not None else self.orders.get(msg.get_str(37) or "")
        c = p.cmd if p is not None else None
        return OrderRejected(
            command,
            getattr(c, "instrument", "") or (o.inst.id if o else ""),
            getattr(c, "account", "") or (o.cmd.account if o else ""),
            o.name if o is not None else getattr(c, "client_order_id", "") or "",
            reason,
            text,
            order_id=None if o is None else o.local_id,
        )

    def _fill(self, msg: FixMessage, o: TargetOrder, t: int) -> list[tuple[Any, int]]:
        px = self._units(msg.get(31), o.inst.price_increment)
        qty = self._units(msg.get(32), o.inst.qty_increment)
        if px is None or qty is None:
            self.problems.append(f"a fill without LastPx/LastQty: {_text(msg)}")
            return []
        o.leaves = max(o.leaves - qty, 0)
        buy = o.cmd.side is Side.BUY
        for i, f in enumerate(self.fills):
            if (
                (f.order.cmd.side is Side.BUY) != buy
                and f.order.inst.id == o.inst.id
                and (f.price, f.qty) == (px, qty)
            ):
                del self.fills[i]
                b, s = (o, f.order) if buy else (f.order, o)
                self._trade += 1
                aggr = next((x for x in (o, f.order) if x.clid == self.acting), None)
                rest = None if aggr is None else (f.order if aggr is o else o)
                return [(TradeExecuted(
                    self._trade, o.inst.id, px, qty, None if aggr is None else aggr.cmd.side,
                    b.local_id, s.local_id, b.cmd.account, s.cmd.account,
                    None if rest is None else rest.local_id, None if aggr is None else aggr.local_id, f.time,
                ), f.time)]  # fmt: skip
        self.fills.append(_Fill(o, px, qty, t))
        return []

    @staticmethod
    def _units(v: bytes | None, increment: str) -> int | None:
        if v is None:
            return None
        try:
            q = Decimal(v.decode()) / Decimal(increment)
        except (InvalidOperation, UnicodeDecodeError):
            return None
        return int(q) if q == q.to_integral_value() else None


def _time(msg: FixMessage, now: int) -> int:
    v = msg.get(60)
    if v is None:
        return now
    try:
        return parse_timestamp(v)
    except ValueError:
        return now


def _text(msg: FixMessage) -> str:
    return "|".join(f"{k}={v.decode(errors='replace')}" for k, v in msg.fields)


def _cancel_reason(msg: FixMessage, default: CancelReason = CancelReason.USER) -> CancelReason:
    text = (msg.get_str(58) or "").split(":")[0].strip()
    try:
        return CancelReason(text)
    except ValueError:
        return default


def _expire_reason(msg: FixMessage) -> ExpireReason:
    text = (msg.get_str(58) or "").split(":")[0].strip()
    try:
        return ExpireReason(text)
    except ValueError:
        return ExpireReason.DAY


def _reject_reason(msg: FixMessage, codes: dict[RejectReason, int]) -> tuple[RejectReason, str]:
    """The reason a Text of ``REASON: words`` names, else the first reason with the FIX code."""
    text = msg.get_str(58) or ""
    head, sep, rest = text.partition(":")
    try:
        return RejectReason(head.strip()), rest.strip() if sep else ""
    except ValueError:
        pass
    code = msg.get_int(103) if msg.msg_type == "8" else msg.get_int(102)
    for reason, c in codes.items():
        if c == code:
            return reason, text
    return RejectReason.UNKNOWN_ORDER if msg.msg_type == "9" else RejectReason.INVALID_ORDER_TYPE, text
