"""Account read models: positions, balances, P&L, margin and account events (MarginWarning,
MarginCall, KillSwitch...). A trader reaches its own accounts only; auditors and qa-admin any."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Security

from system.gateways.rest.convert import iso
from system.gateways.rest.gateway import RestGateway
from system.gateways.rest.keys import ApiKey
from system.gateways.rest.problems import PROBLEMS, Problem
from system.gateways.rest.render import money_text, positions_out
from system.gateways.rest.routes.deps import gateway
from system.gateways.rest.schemas import AccountEventOut, BalanceOut, MarginOut, PnlOut, PositionOut
from system.gateways.rest.security import EVERYONE, allow, check_account
from system.risk.projections import AccountsProjection

router = APIRouter(prefix="/v1/accounts/{account}", tags=["accounts"], responses=PROBLEMS)
Gw = Annotated[RestGateway, Depends(gateway)]
Anyone = Annotated[ApiKey, Security(allow(*EVERYONE))]


def _ledger(gw: RestGateway, who: ApiKey, account: str) -> AccountsProjection:
    check_account(who, account)
    if gw.accounts is None:
        raise Problem(404, "this server keeps no account ledger (no [risk] in its --config)")
    return gw.accounts


_money = money_text


@router.get("/positions", response_model=list[PositionOut], summary="Open and traded positions")
async def positions(account: str, gw: Gw, who: Anyone) -> list[PositionOut]:
    return positions_out(_ledger(gw, who, account), account, gw.instrument)


@router.get("/balances", response_model=list[BalanceOut], summary="Cash per currency")
async def balances(account: str, gw: Gw, who: Anyone) -> list[BalanceOut]:
    p = _ledger(gw, who, account)
    return [
        BalanceOut(account=account, currency=c, amount=_money(p, v, c))
        for c, v in p.balances(account).items()
    ]


@router.get("/pnl", response_model=list[PnlOut], summary="Realised and unrealised P&L per currency")
async def pnl(account: str, gw: Gw, who: Anyone) -> list[PnlOut]:
    p = _ledger(gw, who, account)
    return [
        PnlOut(
            account=account,
            currency=v.currency,
            realised=_money(p, v.realised, v.currency),
            unrealised=_money(p, v.unrealised, v.currency),
            fees=_money(p, v.fees, v.currency),
            net=_money(p, v.net, v.currency),
        )
        for v in p.pnl(account)
    ]


@router.get("/margin", response_model=MarginOut, summary="Equity, margin and utilisation")
async def margin(account: str, gw: Gw, who: Anyone) -> MarginOut:
    p = _ledger(gw, who, account)
    m = p.margin(account)
    if m is None:
        raise Problem(404, f"account {account!r} has no ledger entry yet (no order or fill)")
    c = m.currency
    return MarginOut(
        account=account,
        currency=c,
        cash=_money(p, m.cash, c),
        unrealised=_money(p, m.unrealised, c),
        equity=_money(p, m.equity, c),
        initial_margin=_money(p, m.initial_margin, c),
        maintenance_margin=_money(p, m.maintenance_margin, c),
        available=_money(p, m.available, c),
        utilisation_bp=m.utilisation_bp,
        level=m.level,
    )


@router.get(
    "/events", response_model=list[AccountEventOut], summary="MarginWarning, MarginCall, KillSwitch..."
)
async def events(
    account: str,
    gw: Gw,
    who: Anyone,
    after_seq: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[AccountEventOut]:
    check_account(who, account)
    rows = [r for r in gw.model.account_events.get(account, ()) if r.seq > after_seq][:limit]
    return [
        AccountEventOut(seq=r.seq, type=r.type, time=iso(r.time), time_ns=r.time, payload=r.payload)
        for r in rows
    ]
