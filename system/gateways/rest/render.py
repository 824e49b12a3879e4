"""Read-model rows and log entries as response bodies (decimals as text, instants as RFC 3339)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec

from system.engine import Instrument
from system.engine.orders import RejectReason
from system.eventlog.codec import LoggedEvent
from system.gateways.rest.convert import iso, price_text, qty_text
from system.gateways.rest.problems import Problem
from system.gateways.rest.readmodel import OrderRow, TradeRow
from system.gateways.rest.schemas import (
    CommandAnswer,
    EventOut,
    L1Out,
    L2Out,
    OrderOut,
    PositionOut,
    TradeOut,
)
from system.risk.money import decimal_money
from system.server.sequencer import Result

if TYPE_CHECKING:
    from collections.abc import Callable

    from system.engine.marketdata import DepthSnapshot, MarketData
    from system.risk.projections import AccountsProjection

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


# The hot queries' answers (L1, L2, positions) are built as plain dicts, in their models' field
# order: the application validates them into its response models, and the query side encodes them
# with msgspec as they are, the same bytes as the models' JSON (tests/integration/
# test_rest_queryside.py compares them). A pydantic model per level and per row cost ~10 µs here,
# paid again after every batch the query side folds.
_JSON = msgspec.json.Encoder()


def l1_fields(inst: Instrument, md: MarketData) -> dict[str, Any]:
    q = md.bbo(inst.id)
    return {
        "instrument": inst.id,
        "seq": md.position,
        "phase": md.state.books[inst.id].phase,
        "bid": price_text(inst, q.bid),
        "bid_qty": qty_text(inst, q.bid_qty),
        "ask": price_text(inst, q.ask),
        "ask_qty": qty_text(inst, q.ask_qty),
    }


def l2_fields(inst: Instrument, d: DepthSnapshot) -> dict[str, Any]:
    return {
        "instrument": inst.id,
        "seq": d.seq,
        "phase": d.phase,
        "bids": [
            {"price": price_text(inst, p) or "0", "qty": qty_text(inst, q), "count": n} for p, q, n in d.bids
        ],
        "asks": [
            {"price": price_text(inst, p) or "0", "qty": qty_text(inst, q), "count": n} for p, q, n in d.asks
        ],
    }


def l1_out(inst: Instrument, md: MarketData) -> L1Out:
    return L1Out(**l1_fields(inst, md))


def l2_out(inst: Instrument, d: DepthSnapshot) -> L2Out:
    return L2Out(**l2_fields(inst, d))  # the levels' dicts validated into ``Level``s


def json_bytes(fields: Any) -> bytes:
    """``l1_fields``, ``l2_fields`` or ``position_fields`` as the JSON their models dump."""
    return _JSON.encode(fields)


def money_text(p: AccountsProjection, value: int, currency: str) -> str:
    # Plain decimal text (no thousands separators): the wire carries numbers, not reports.
    return format(decimal_money(value, currency, p.config.currencies).normalize(), "f")


def position_fields(
    p: AccountsProjection, account: str, instrument: Callable[[str], Instrument]
) -> list[dict[str, Any]]:
    out = []
    for v in p.positions(account):
        inst = instrument(v.instrument)
        out.append(
            {
                "account": account,
                "instrument": v.instrument,
                "qty": ("-" if v.qty < 0 else "") + qty_text(inst, abs(v.qty)) if v.qty else "0",
                "avg_price": None if v.avg_price is None else format(v.avg_price.normalize(), "f"),
                "currency": v.currency,
                "realised": money_text(p, v.realised, v.currency),
                "unrealised": money_text(p, v.unrealised, v.currency),
                "fees": money_text(p, v.fees, v.currency),
            }
        )
    return out


def positions_out(
    p: AccountsProjection, account: str, instrument: Callable[[str], Instrument]
) -> list[PositionOut]:
    return [PositionOut(**row) for row in position_fields(p, account, instrument)]


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
