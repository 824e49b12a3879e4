"""Where each order of a scenario stands, folded from the log the driver returns: what a trader's
blotter shows (open, partially filled, filled, cancelled, expired, rejected) and why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from system.eventlog import LoggedEvent


@dataclass
class OrderState:
    order_id: int | None
    account: str
    cid: str
    instrument: str
    qty: int = 0
    leaves: int = 0
    filled: int = 0
    status: str = "open"
    reason: str = ""
    text: str = ""


def fold(events: Iterable[LoggedEvent]) -> tuple[dict[int, OrderState], dict[tuple[str, str], OrderState]]:
    """(by order id, by (account, client order id)) for every order the log mentions."""
    by_id: dict[int, OrderState] = {}
    by_cid: dict[tuple[str, str], OrderState] = {}
    for ev in events:
        r: Any = ev.record
        t = ev.type
        if t == "OrderAccepted":
            s = OrderState(r.order_id, r.account, r.client_order_id, r.instrument, r.qty, r.qty)
            by_id[r.order_id] = s
            by_cid[(r.account, r.client_order_id)] = s
        elif t == "TradeExecuted":
            for oid in (r.buy_order_id, r.sell_order_id):
                s2 = by_id.get(oid)
                if s2 is not None:
                    s2.filled += r.qty
                    s2.leaves = max(0, s2.leaves - r.qty)
                    s2.status = "filled" if s2.leaves == 0 else "partially filled"
        elif t in ("OrderCancelled", "OrderExpired"):
            s3 = by_id.get(r.order_id)
            if s3 is not None:
                s3.leaves = 0
                s3.status = "cancelled" if t == "OrderCancelled" else "expired"
                s3.reason = str(r.reason)
        elif t == "OrderReduced":
            s4 = by_id.get(r.order_id)
            if s4 is not None:
                s4.leaves = r.leaves
                if r.leaves == 0:
                    s4.status, s4.reason = "cancelled", str(r.reason)
        elif t == "OrderReplaced":
            s5 = by_id.get(r.order_id)
            if s5 is not None:
                s5.qty, s5.leaves = r.qty, r.leaves
        elif "Reject" in t and getattr(r, "command", "SubmitOrder") == "SubmitOrder":
            account, cid = getattr(r, "account", ""), getattr(r, "client_order_id", "")
            if (account, cid) not in by_cid:
                s6 = OrderState(None, account, cid, getattr(r, "instrument", ""), status="rejected")
                s6.reason, s6.text = str(getattr(r, "reason", "")), str(getattr(r, "text", ""))
                by_cid[(account, cid)] = s6
    return by_id, by_cid
