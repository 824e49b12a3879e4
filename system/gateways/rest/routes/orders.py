"""Orders: submit, cancel, replace, status and mass cancel (traders for their own accounts,
qa-admin for any). An ``Idempotency-Key`` header is the session-scoped command id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Security

from system.engine import CancelAllOrders, CancelOrder, ReplaceOrder, SubmitOrder
from system.engine.orders import CancelReason
from system.gateways.rest.convert import ns_of, price_units, qty_units
from system.gateways.rest.gateway import RestGateway
from system.gateways.rest.keys import ApiKey
from system.gateways.rest.problems import PROBLEMS, Problem
from system.gateways.rest.readmodel import OrderRow
from system.gateways.rest.render import answer, order_out
from system.gateways.rest.routes.deps import gateway
from system.gateways.rest.schemas import (
    CommandAnswer,
    MassCancelBody,
    OrderOut,
    ReplaceOrderBody,
    SubmitOrderBody,
)
from system.gateways.rest.security import EVERYONE, TRADING, allow, check_account

router = APIRouter(prefix="/v1/orders", tags=["orders"], responses=PROBLEMS)

IdemKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:\-]+$",
        description="a retry with the same key returns the same answer; another body under it is a 409",
    ),
]
Gw = Annotated[RestGateway, Depends(gateway)]


def _own_order(gw: RestGateway, who: ApiKey, order_id: int) -> OrderRow:
    o = gw.model.orders.get(order_id)
    if o is None or not who.may_see(o.account):
        raise Problem(
            404, f"no order {order_id} in the accounts you may see", field="order_id", value=str(order_id)
        )
    return o


def _expiry(body: SubmitOrderBody) -> int | None:
    if body.expire_time_ns is not None:
        return body.expire_time_ns
    return None if body.expire_time is None else ns_of(body.expire_time)


@router.post("", status_code=201, response_model=CommandAnswer, summary="Submit an order")
async def submit(
    body: SubmitOrderBody, gw: Gw, who: Annotated[ApiKey, Security(allow(*TRADING))], key: IdemKey = None
) -> CommandAnswer:
    check_account(who, body.account)
    inst = gw.instrument(body.instrument)
    cid = body.client_order_id or key or gw.next_client_order_id(who.name)
    cmd = SubmitOrder(
        account=body.account,
        client_order_id=cid,
        instrument=inst.id,
        side=body.side,
        qty=qty_units(inst, body.qty) or 0,  # zero or negative: the engine's rejection
        order_type=body.order_type,
        price=price_units(inst, body.price),
        stop_price=price_units(inst, body.stop_price, "stop_price"),
        tif=body.tif,
        expire_time=_expiry(body),
        post_only=body.post_only,
        display_qty=qty_units(inst, body.display_qty, "display_qty") or 0,
        stp=body.stp,
        cross_currency=body.cross_currency,
    )
    res = await gw.call(who.session, None if key is None else f"D:{key}", cmd)
    return answer(res)


@router.get("", response_model=list[OrderOut], summary="Orders of an account")
async def list_orders(
    gw: Gw,
    who: Annotated[ApiKey, Security(allow(*EVERYONE))],
    account: Annotated[str, Query(min_length=1, max_length=64)],
    open: bool = False,
) -> list[OrderOut]:
    check_account(who, account)
    return [
        order_out(o, gw.instrument(o.instrument)) for o in gw.model.orders_of_account(account, open_only=open)
    ]


@router.get("/{order_id}", response_model=OrderOut, summary="An order's status")
async def status(order_id: int, gw: Gw, who: Annotated[ApiKey, Security(allow(*EVERYONE))]) -> OrderOut:
    o = _own_order(gw, who, order_id)
    return order_out(o, gw.instrument(o.instrument))


@router.delete("/{order_id}", response_model=CommandAnswer, summary="Cancel an order")
async def cancel(
    order_id: int, gw: Gw, who: Annotated[ApiKey, Security(allow(*TRADING))], key: IdemKey = None
) -> CommandAnswer:
    o = _own_order(gw, who, order_id)
    cmd = CancelOrder(account=o.account, instrument=o.instrument, order_id=order_id)
    return answer(await gw.call(who.session, None if key is None else f"F:{key}", cmd))


@router.patch("/{order_id}", response_model=CommandAnswer, summary="Replace an order's price or quantity")
async def replace(
    order_id: int,
    body: ReplaceOrderBody,
    gw: Gw,
    who: Annotated[ApiKey, Security(allow(*TRADING))],
    key: IdemKey = None,
) -> CommandAnswer:
    o = _own_order(gw, who, order_id)
    if body.qty is None and body.price is None and body.display_qty is None:
        raise Problem(422, "nothing to replace: give qty, price or display_qty")
    inst = gw.instrument(o.instrument)
    cmd = ReplaceOrder(
        account=o.account,
        instrument=o.instrument,
        order_id=order_id,
        qty=qty_units(inst, body.qty),
        price=price_units(inst, body.price),
        display_qty=qty_units(inst, body.display_qty, "display_qty"),
    )
    return answer(await gw.call(who.session, None if key is None else f"G:{key}", cmd))


@router.post("/mass-cancel", response_model=CommandAnswer, summary="Cancel every open order of an account")
async def mass_cancel(
    body: MassCancelBody, gw: Gw, who: Annotated[ApiKey, Security(allow(*TRADING))], key: IdemKey = None
) -> CommandAnswer:
    check_account(who, body.account)
    inst = None if body.instrument is None else gw.instrument(body.instrument).id
    cmd = CancelAllOrders(account=body.account, instrument=inst, reason=CancelReason.USER)
    return answer(await gw.call(who.session, None if key is None else f"q:{key}", cmd))
