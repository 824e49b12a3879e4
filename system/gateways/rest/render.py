"""Read-model rows and log entries as response bodies (decimals as text, instants as RFC 3339)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from system.engine import Instrument
from system.engine.orders import RejectReason
from system.eventlog.codec import LoggedEvent
from system.gateways.rest.convert import iso, price_text, qty_text
from system.gateways.rest.problems import Problem
from system.gateways.rest.readmodel import OrderRow, TradeRow
from system.gateways.rest.schemas import CommandAnswer, EventOut, OrderOut, TradeOut
from system.server.sequencer import Result

_FRESH = {"NEW", "PARTIALLY_FILLED"}


def order_out(o: OrderRow, inst: Instrument) -> OrderOut:
    avg = None
    if o.filled and o.notional:
        avg = format((Decimal(o.notional) / o.filled * Decimal(inst.price_increment)).normalize(), "f")
    return OrderOut(
        order_id=o.order_id,
        account=o.account,
        instrument=o.instrument,
        client_order_id=o.client_order_id,
        side=o.side,
        order_type=o.order_type,
        price=price_text(inst, o.price),
        stop_price=price_text(inst, o.stop_price),
        qty=qty_text(inst, o.qty),
        filled=qty_text(inst, o.filled),
        leaves=qty_text(inst, o.leaves),
        avg_price=avg,
        tif=o.tif,
        status=o.status,  # type: ignore[arg-type]
        reason=o.reason,
        seq=o.last_seq,
    )


def trade_out(t: TradeRow, inst: Instrument, visible: frozenset[str] | None) -> TradeOut:
    """``visible``: the accounts whose names may be shown (None: all)."""

    def show(a: str) -> str | None:
        return a if visible is None or a in visible else None

    return TradeOut(
        seq=t.seq,
        trade_id=t.trade_id,
        instrument=t.instrument,
        price=price_text(inst, t.price) or "0",
        qty=qty_text(inst, t.qty),
        aggressor=t.aggressor,
        buy_account=show(t.buy_account),
        sell_account=show(t.sell_account),
        time=iso(t.time),
        time_ns=t.time,
    )


def event_payload(ev: LoggedEvent) -> dict[str, Any]:
    out: dict[str, Any] = msgspec.to_builtins(ev.record)
    return out


def event_out(ev: LoggedEvent) -> EventOut:
    return EventOut(
        seq=ev.seq,
        type=ev.type,
        stream=ev.stream,
        time=iso(ev.valid_time),
        time_ns=ev.valid_time,
        payload=event_payload(ev),
    )


# Engine reasons that are a conflict with the state rather than a malformed request.
_STATUS = {
    RejectReason.UNKNOWN_ORDER: 404,
    RejectReason.ORDER_CLOSED: 409,
    RejectReason.DUPLICATE_CLIENT_ORDER_ID: 409,
}


def answer(res: Result) -> CommandAnswer:
    """The response to a command: raises the problem when it was refused or rejected."""
    if res.error is not None:
        status = 409 if "already used for a different command" in res.error else 422
        raise Problem(status, res.error)
    for ev in res.events:
        if ev.type in ("OrderRejected", "RiskCommandRejected"):
            rec: Any = ev.record
            reason = str(getattr(rec, "reason", "RISK"))
            status = _STATUS.get(getattr(rec, "reason", None), 422)  # type: ignore[arg-type]
            raise Problem(
                status,
                f"{reason}: {rec.text}" if reason != "RISK" else rec.text,
                reason=reason,
                field=getattr(rec, "field", "") or None,
                value=getattr(rec, "value", "") or None,
                seq=res.seq or None,
            )
    order_id, status_, want, got = None, None, 0, 0
    for ev in res.events:
        t = ev.type
        rec = ev.record
        if t == "OrderAccepted" and order_id is None:
            order_id, status_, want = rec.order_id, "NEW", rec.qty
        elif (
            order_id is not None
            and t == "TradeExecuted"
            and order_id in (rec.buy_order_id, rec.sell_order_id)
        ):
            got += rec.qty
            status_ = "FILLED" if got >= want else "PARTIALLY_FILLED"
        elif order_id is not None and getattr(rec, "order_id", None) == order_id:
            if t == "OrderCancelled":
                status_ = "CANCELLED"
            elif t == "OrderExpired":
                status_ = "EXPIRED"
    return CommandAnswer(
        seq=res.seq,
        duplicate=res.duplicate,
        order_id=order_id,
        status=status_,
        events=[event_out(ev) for ev in res.events],
    )
