"""What a REST target publishes, in the mirror's terms: command answers and stream messages in,
order events with local ids out.

A target that speaks Chronex's REST API (docs/rest.md) publishes its order events by name, with a
JSON payload (the answer to a command lists the events it caused; the instrument streams carry
what happened between commands, such as expiries when the clock moved). ``RestReports`` keeps
the events, only renaming what is the target's own: its order ids and trade ids become local ids
in order of first appearance, and its accounts become the scenario's (``oracle.accounts``
reversed). A refused command (problem+json) becomes the ``OrderRejected`` it states: the
``reason`` it names, a 404 as an unknown order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from steps.drivers.execreports import Translator
from system.engine import (
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderReduced,
    OrderRejected,
    OrderReplaced,
    RejectReason,
    TradeExecuted,
)
from system.engine.events import (
    AuctionUncrossed,
    IcebergReplenished,
    InstrumentHalted,
    InstrumentResumed,
    StopTriggered,
)
from system.engine.phases import PhaseChanged

# The events the mirror folds (the rest are recorded as received, not folded).
FOLDED: dict[str, type[Any]] = {
    c.__name__: c
    for c in (
        OrderAccepted, OrderRejected, TradeExecuted, OrderCancelled, OrderExpired, OrderReduced,
        OrderReplaced, StopTriggered, IcebergReplenished, AuctionUncrossed, PhaseChanged, InstrumentHalted,
        InstrumentResumed,
    )
}  # fmt: skip
_ORDER_IDS = ("order_id", "buy_order_id", "sell_order_id", "resting_order_id", "aggressor_order_id")
_ACCOUNTS = ("account", "buy_account", "sell_account")


@dataclass
class RestReports(Translator):
    """The target's ids and accounts, mapped to the scenario's."""

    ids: dict[int, int] = field(default_factory=dict)  # target order id -> local id
    target_ids: dict[int, int] = field(default_factory=dict)  # local id -> target order id
    names: dict[int, str] = field(default_factory=dict)  # local id -> the scenario's order name
    accounts_back: dict[str, str] = field(default_factory=dict)  # target account -> scenario's
    trade_ids: dict[int, int] = field(default_factory=dict)

    def name_of(self, local_id: int | None) -> str:
        return "" if local_id is None else self.names.get(local_id, "")

    def target_id(self, local_id: int | None) -> int | None:
        return None if local_id is None else self.target_ids.get(local_id)

    def local(self, msg: dict[str, Any]) -> tuple[Any, int] | None:
        """The order event a published message means, with its valid time (None: not one the mirror
        folds, or about an order this run never placed)."""
        cls = FOLDED.get(str(msg.get("type")))
        if cls is None:
            return None
        p = dict(msg.get("payload") or {})
        for k in _ACCOUNTS:
            if isinstance(p.get(k), str):
                p[k] = self.accounts_back.get(p[k], p[k])
        if cls is OrderAccepted:
            tid = int(p["order_id"])
            if tid not in self.ids:
                n = len(self.ids) + 1
                self.ids[tid], self.target_ids[n], self.names[n] = n, tid, str(p.get("client_order_id", ""))
        if cls is TradeExecuted:
            tid = int(p["trade_id"])
            p["trade_id"] = self.trade_ids.setdefault(tid, len(self.trade_ids) + 1)
        for k in _ORDER_IDS:
            v = p.get(k)
            if v is None:
                continue
            if int(v) not in self.ids:
                self.problems.append(f"{msg.get('type')} #{msg.get('seq')} names order {v}, not one of ours")
                return None
            p[k] = self.ids[int(v)]
        try:
            rec = msgspec.convert(p, cls)
        except msgspec.ValidationError as e:
            raise AssertionError(
                f"the target published a {cls.__name__} Chronex cannot read ({e}): {p}"
            ) from None
        return rec, int(msg.get("time_ns") or 0)

    def refused(self, command: str, cmd: Any, status: int, problem: dict[str, Any]) -> OrderRejected:
        """The rejection a problem+json answer states."""
        reason_text = problem.get("reason")
        try:
            reason = RejectReason(str(reason_text))
        except ValueError:
            reason = RejectReason.UNKNOWN_ORDER if status == 404 else RejectReason.INVALID_ORDER_TYPE
        detail = str(problem.get("detail", ""))
        head, sep, rest = detail.partition(":")
        text = rest.strip() if sep and head.strip() == str(reason_text) else detail
        order_id = getattr(cmd, "order_id", None)
        return OrderRejected(
            command, cmd.instrument, cmd.account,
            getattr(cmd, "client_order_id", "") or self.name_of(order_id),
            reason, text, str(problem.get("field") or ""), str(problem.get("value") or ""),
            order_id=order_id if command != "SubmitOrder" else None,
        )  # fmt: skip


__all__ = ["FOLDED", "RestReports"]
