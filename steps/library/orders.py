"""Steps for orders: one by one or as tables (every type and time in force), cancels, replaces,
rejections and where each order stands."""

from __future__ import annotations

import re
from typing import Any

from steps import values as V
from steps.context import OrderRef, Scenario
from steps.errors import StepInputError
from steps.orderstate import fold
from steps.registry import step, then
from steps.tables import Table
from system.engine import (
    CancelAllOrders,
    CancelOrder,
    CancelReason,
    OrderAccepted,
    OrderType,
    ReplaceOrder,
    SubmitOrder,
    TimeInForce,
)

_OPTION = re.compile(
    r"\s*(?:(?P<as>as)\s+(?P<name>\S+)|(?P<stop>stop)\s+(?P<stop_price>\S+)|(?P<display>display)\s+(?P<dq>\S+)"
    r"|(?P<stp>stp)\s+(?P<stp_mode>\S+)|(?P<until>until)\s+(?P<t>\d{4}-\d{2}-\d{2} \d{1,2}:\d{2}(?::\d{2})?"
    r"|\d{1,2}:\d{2}(?::\d{2})?)(?:\s+(?P<tz>[A-Za-z_]+/[A-Za-z_]+))?|(?P<word>\S+))"
)
OPTIONS_HELP = (
    "DAY, GTC, IOC, FOK, ATO, ATC, GTD until HH:MM, stop P, display Q, post-only, stp MODE, "
    "cross-currency, as NAME"
)


def submit(
    ctx: Scenario,
    account: str,
    side: str,
    qty: str,
    ref: str | None,
    price: str,
    spec: str = "",
    *,
    otype: str = "",
    name: str = "",
) -> OrderRef:
    """Build and send one SubmitOrder from scenario words; remember it under its name."""
    inst = ctx.inst(ref)
    kw: dict[str, Any] = {}
    order_type = OrderType.LIMIT
    p = price.strip()
    if p.lower() == "market" or p == "":
        order_type = OrderType.MARKET
    else:
        kw["price"] = V.raw_price(inst, p)
    tif_set: TimeInForce | None = None
    for m in _OPTION.finditer(spec):
        if m["as"]:
            name = m["name"]
        elif m["stop"]:
            kw["stop_price"] = V.raw_price(inst, m["stop_price"])
            order_type = OrderType.STOP if order_type is OrderType.MARKET else OrderType.STOP_LIMIT
        elif m["display"]:
            kw["display_qty"] = V.raw_qty(inst, m["dq"])
        elif m["stp"]:
            kw["stp"] = V.stp(m["stp_mode"])
        elif m["until"]:
            text = m["t"] + (f" {m['tz']}" if m["tz"] else "")
            kw["expire_time"] = ctx.instant(text)
            tif_set = tif_set or TimeInForce.GTD
        elif m["word"]:
            w = m["word"]
            if w.lower() in ("post-only", "post_only"):
                kw["post_only"] = True
            elif w.lower() in ("cross-currency", "cross_currency"):
                kw["cross_currency"] = True
            elif w.upper() in TimeInForce.__members__:
                tif_set = V.tif(w)
            else:
                raise StepInputError(f"unknown order option {w!r} (options: {OPTIONS_HELP})")
    if otype:
        order_type = V.order_type(otype)
    return _send(ctx, account, V.side(side), V.raw_qty(inst, qty), inst.id, order_type, tif_set, kw, name)


def _send(
    ctx: Scenario,
    account: str,
    side: Any,
    qty: int,
    instrument: str,
    order_type: OrderType,
    tif: TimeInForce | None,
    kw: dict[str, Any],
    name: str,
) -> OrderRef:
    name = name or ctx.new_order_name(account)
    if name in ctx.orders:
        raise StepInputError(f"order name {name!r} is already used in this scenario")
    cmd = SubmitOrder(
        account=account,
        client_order_id=name,
        instrument=instrument,
        side=side,
        qty=qty,
        order_type=order_type,
        tif=tif or TimeInForce.DAY,
        **kw,
    )
    reply = ctx.run(cmd)
    oid = next(
        (
            r.order_id
            for r in reply.records
            if isinstance(r, OrderAccepted) and r.client_order_id == name and r.account == account
        ),
        None,
    )
    ref = OrderRef(name, account, instrument, name, oid)
    ctx.orders[name] = ref
    ctx.last_order = ref
    return ref


@step(
    "{account:Name} {side:Side} {qty:Qty} {ref:Ref} at {price:Price}", "When alice buys 100 XTKS:7203 at 2500"
)
def order(ctx: Scenario, account: str, side: str, qty: str, ref: str, price: str) -> None:
    """A DAY limit order, or a market order with 'at market'."""
    submit(ctx, account, side, qty, ref, price)


@step(
    "{account:Name} {side:Side} {qty:Qty} {ref:Ref} at {price:Price} {spec:Spec}",
    "When bob sells 300 XTKS:7203 at 2500.5 IOC as b1",
)
def order_with(ctx: Scenario, account: str, side: str, qty: str, ref: str, price: str, spec: str) -> None:
    """An order with options: a time in force (DAY GTC IOC FOK ATO ATC, 'GTD until 14:00'),
    'stop P' (with 'at market' a stop, with a price a stop-limit), 'display Q' (an iceberg),
    'post-only', 'stp CANCEL_NEWEST', 'cross-currency' (may also match the books of the same cross
    group in other currencies, converted at the FX rate: BTC/JPY against BTC/USD), and 'as NAME'
    to refer to it later."""
    submit(ctx, account, side, qty, ref, price, spec)


@step("{account:Name} {side:Side} {qty:Qty} at {price:Price}", "When alice buys 100 at 2500")
def order_default(ctx: Scenario, account: str, side: str, qty: str, price: str) -> None:
    """The same on the scenario's only instrument."""
    submit(ctx, account, side, qty, None, price)


@step(
    "{account:Name} {side:Side} {qty:Qty} at {price:Price} {spec:Spec}",
    "When alice buys 100 at 2500 GTC as a1",
)
def order_default_with(ctx: Scenario, account: str, side: str, qty: str, price: str, spec: str) -> None:
    """An order with options on the scenario's only instrument."""
    submit(ctx, account, side, qty, None, price, spec)


ORDER_COLUMNS = (
    "name",
    "account",
    "side",
    "qty",
    "instrument",
    "price",
    "type",
    "stop",
    "tif",
    "until",
    "display",
    "post only",
    "stp",
)


@step(
    "these orders are submitted:",
    "When these orders are submitted:\n  | name | account | side | qty | price | tif |",
)
def orders_table(ctx: Scenario, table: Table) -> None:
    """Submit each row in order. Columns: account, side, qty, price (or 'market'); optional name,
    instrument (else the only one), type (LIMIT MARKET STOP STOP_LIMIT), stop, tif, until (GTD),
    display (iceberg), post only (yes), stp."""
    table.require(ORDER_COLUMNS, "orders")
    for row in table.dicts():
        _row_order(ctx, row)


@step("the {ref:Ref} book has:", "Given the XTKS:7203 book has:\n  | side | price | qty | account |")
def book_has(ctx: Scenario, ref: str, table: Table) -> None:
    """Rest these orders on the book, in order (same columns as 'these orders are submitted')."""
    table.require(ORDER_COLUMNS, "orders")
    for row in table.dicts():
        row.setdefault("instrument", ref)
        row.setdefault("account", "mm")
        _row_order(ctx, row)


def _row_order(ctx: Scenario, row: dict[str, str]) -> None:
    for col in ("side", "qty"):
        if not row.get(col):
            raise StepInputError(f"an order row needs a {col!r} column ({row})")
    spec = []
    if row.get("tif"):
        spec.append(row["tif"])
    if row.get("until"):
        spec.append(f"until {row['until']}")
    if row.get("stop"):
        spec.append(f"stop {row['stop']}")
    if row.get("display"):
        spec.append(f"display {row['display']}")
    if row.get("post only", "").lower() in ("yes", "true", "y"):
        spec.append("post-only")
    if row.get("stp"):
        spec.append(f"stp {row['stp']}")
    otype = row.get("type", "")
    price = row.get("price", "")
    if otype and V.order_type(otype) in (OrderType.MARKET, OrderType.STOP):
        price = price or "market"
    submit(
        ctx,
        row.get("account", "trader"),
        row["side"],
        row["qty"],
        row.get("instrument") or None,
        price or "market",
        " ".join(spec),
        otype=otype,
        name=row.get("name", ""),
    )


@step("{account:Name} cancels {name:Name}", "When alice cancels a1")
def cancel(ctx: Scenario, account: str, name: str) -> None:
    """Cancel a named order (by its engine id, or its client id if it was never accepted)."""
    o = ctx.order_ref(name)
    ctx.run(
        CancelOrder(
            account=account,
            instrument=o.instrument,
            order_id=o.order_id,
            client_order_id="" if o.order_id is not None else o.cid,
        )
    )


@step("{account:Name} cancels all orders", "When alice cancels all orders")
def cancel_all(ctx: Scenario, account: str) -> None:
    """Cancel every open order of the account."""
    ctx.run(CancelAllOrders(account=account, reason=CancelReason.USER))


@step(
    "{account:Name} replaces {name:Name} with {qty:Qty} at {price:Price}",
    "When alice replaces a1 with 200 at 2501",
)
def replace(ctx: Scenario, account: str, name: str, qty: str, price: str) -> None:
    """Change price and total quantity (reducing only the quantity keeps time priority)."""
    o = ctx.order_ref(name)
    inst = ctx.inst(o.instrument)
    _replace(ctx, account, o, qty=V.raw_qty(inst, qty), price=V.raw_price(inst, price))


@step(
    "{account:Name} changes the price of {name:Name} to {price:Price}",
    "When alice changes the price of a1 to 2499",
)
def change_price(ctx: Scenario, account: str, name: str, price: str) -> None:
    """Move a resting order to a new price (it loses time priority)."""
    o = ctx.order_ref(name)
    _replace(ctx, account, o, price=V.raw_price(ctx.inst(o.instrument), price))


@step(
    "{account:Name} changes the quantity of {name:Name} to {qty:Qty}",
    "When alice changes the quantity of a1 to 50",
)
def change_qty(ctx: Scenario, account: str, name: str, qty: str) -> None:
    """Set a resting order's total quantity (filled + open); a reduction keeps its priority."""
    o = ctx.order_ref(name)
    _replace(ctx, account, o, qty=V.raw_qty(ctx.inst(o.instrument), qty))


def _replace(ctx: Scenario, account: str, o: OrderRef, **kw: Any) -> None:
    if o.order_id is None:
        raise StepInputError(f"order {o.name} was never accepted, so it cannot be replaced")
    ctx.run(ReplaceOrder(account=account, instrument=o.instrument, order_id=o.order_id, **kw))


# -- outcomes -------------------------------------------------------------------------------------
_STATUS = re.compile(
    r"^(?P<s>open|filled|partially filled|cancelled|canceled|expired|rejected|accepted)"
    r"(?: with (?P<left>\S+) left| (?:by|for|with reason|because of) (?P<reason>[A-Z_]+)"
    r"| \((?P<paren>[A-Z_]+)\))?$"
)


@then("order {name:Name} is {status:Text}", "Then order a1 is partially filled with 200 left")
def order_status(ctx: Scenario, name: str, status: str) -> None:
    """Where the order stands: open, open with Q left, partially filled [with Q left], filled,
    cancelled [by REASON], expired [by REASON], rejected [with reason REASON]."""
    _check_status(ctx, ctx.order_ref(name), status)


@then("the order is {status:Text}", "Then the order is rejected with reason OFF_TICK")
def last_order_status(ctx: Scenario, status: str) -> None:
    """The same for the order submitted last."""
    _check_status(ctx, ctx.the_order(None), status)


def _check_status(ctx: Scenario, o: OrderRef, status: str) -> None:
    m = _STATUS.match(status.strip())
    if m is None:
        raise StepInputError(
            f"order status {status!r} is unknown (open, filled, partially filled with Q left, cancelled, "
            "expired, rejected with reason R)"
        )
    by_id, by_cid = fold(ctx.events())
    st = by_id.get(o.order_id) if o.order_id is not None else by_cid.get((o.account, o.cid))
    inst = ctx.inst(o.instrument)
    if st is None:
        raise AssertionError(f"order {o.name} is unknown to the system")
    want = m["s"].replace("canceled", "cancelled")
    have = st.status + (f" ({st.reason})" if st.reason else "")
    have += f", {V.fmt_qty(inst, st.leaves)} left of {V.fmt_qty(inst, st.qty)}" if st.qty else ""
    if st.text:
        have += f": {st.text}"
    detail = ""
    if want != "accepted" or st.status == "rejected":
        ok = st.status == want or (want == "accepted" and st.status != "rejected")
        assert ok, f"order {o.name} is {have}; expected {status}"
    if m["left"]:
        detail = m["left"]
        assert st.leaves == V.raw_qty(inst, detail), f"order {o.name} is {have}; expected {detail} left"
    reason = m["reason"] or m["paren"]
    if reason:
        assert st.reason == reason, f"order {o.name} is {have}; expected the reason {reason}"


@then(
    "the request is rejected with reason {reason:Reason}",
    "Then the request is rejected with reason UNKNOWN_ORDER",
)
def request_rejected(ctx: Scenario, reason: str) -> None:
    """The last command (an order, cancel or replace) was refused for that reason."""
    reply = ctx.last_reply
    if reply is None:
        raise StepInputError("no request has been sent yet")
    rej = [r for r in reply.records if "Reject" in type(r).__name__]
    assert rej, "the request was not rejected; it caused: " + (
        ", ".join(type(r).__name__ for r in reply.records) or "nothing"
    )
    got = str(getattr(rej[0], "reason", ""))
    assert got == reason, (
        f"the request was rejected with reason {got} ({getattr(rej[0], 'text', '')}), expected {reason}"
    )


@then("the request is accepted", "Then the request is accepted")
def request_accepted(ctx: Scenario) -> None:
    """The last command was not refused."""
    reply = ctx.last_reply
    if reply is None:
        raise StepInputError("no request has been sent yet")
    rej = [r for r in reply.records if "Reject" in type(r).__name__]
    assert not rej, f"the request was rejected: {getattr(rej[0], 'reason', '')} {getattr(rej[0], 'text', '')}"


@then("{account:Name} has {n:Int} open orders", "Then alice has 2 open orders")
def open_count(ctx: Scenario, account: str, n: str) -> None:
    """How many orders of the account are working (resting, stops, parked for an auction); 'no' is 0."""
    got = ctx.system().open_orders(account)
    want = 0 if n == "no" else V.integer(n, "order count")
    names = ", ".join(ctx.name_of(o.order_id) for o in got) or "none"
    assert len(got) == want, f"{account} has {len(got)} open orders ({names}), expected {want}"
