"""The wallet's REST API: JSON in, JSON out, problem+json (RFC 9457) for every refusal, naming
the field and the value. Amounts are decimal strings on the wire."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from mocks.asgi import problem
from mocks.httpreplay import record_exchanges
from mocks.wallet.wallet import Deposit, Wallet, WalletError, Withdrawal
from system.gateways.rest.problems import Problem, ProblemModel, install

__all__ = ["build_app"]

AMOUNT = r"^[0-9]{1,20}(\.[0-9]{1,18})?$"
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ProblemModel, "content": {"application/problem+json": {}}} for s in (400, 403, 404, 409, 422)
}


class DepositIn(BaseModel):
    account: str = Field(min_length=1, max_length=64)
    asset: str = Field(min_length=1, max_length=16)
    amount: str = Field(pattern=AMOUNT)
    txid: str = Field(min_length=1, max_length=128)


class WithdrawalIn(BaseModel):
    account: str = Field(min_length=1, max_length=64)
    asset: str = Field(min_length=1, max_length=16)
    amount: str = Field(pattern=AMOUNT)
    address: str = Field(min_length=1, max_length=128)


class DepositOut(BaseModel):
    id: str
    account: str
    asset: str
    amount: str
    txid: str
    confirmations: int
    required: int
    status: str  # pending | credited
    seen_at_ns: int
    credited_at_ns: int | None


class WithdrawalOut(BaseModel):
    id: str
    account: str
    asset: str
    amount: str
    fee: str
    address: str
    status: str  # processing | completed
    requested_at_ns: int
    completed_at_ns: int | None


class BalanceOut(BaseModel):
    asset: str
    available: str
    pending: str


class AddressOut(BaseModel):
    account: str
    asset: str
    address: str


def _dec(text: str, field: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise Problem(422, f"{field} {text!r} is not a decimal", field=field, value=text) from None


def build_app(wallet: Wallet) -> FastAPI:
    app = FastAPI(title=f"{wallet.profile.name} (custody wallet mock)", version="1")
    install(app)
    name = wallet.profile.name

    record_exchanges(app, name, wallet.record)  # so --replay can serve them back

    @app.exception_handler(WalletError)
    async def refused(_: Request, e: WalletError) -> JSONResponse:
        titles = {400: "Bad request", 403: "Forbidden", 404: "Not found", 409: "Conflict"}
        return problem(e, titles)

    def dep(d: Deposit) -> DepositOut:
        a = wallet.profile.assets[d.asset]
        return DepositOut(
            id=d.id,
            account=d.account,
            asset=d.asset,
            amount=a.text(d.amount),
            txid=d.txid,
            confirmations=wallet.confirmations(d),
            required=a.confirmations,
            status="credited" if d.credited_ns is not None else "pending",
            seen_at_ns=d.seen_ns,
            credited_at_ns=d.credited_ns,
        )

    def wd(w: Withdrawal) -> WithdrawalOut:
        a = wallet.profile.assets[w.asset]
        return WithdrawalOut(
            id=w.id,
            account=w.account,
            asset=w.asset,
            amount=a.text(w.amount),
            fee=a.text(w.fee),
            address=w.address,
            status="completed" if w.completed_ns is not None else "processing",
            requested_at_ns=w.requested_ns,
            completed_at_ns=w.completed_ns,
        )

    @app.post("/v1/deposits", status_code=201, response_model=DepositOut, responses=ERRORS)
    async def deposit(body: DepositIn) -> DepositOut:
        return dep(wallet.deposit(body.account, body.asset, _dec(body.amount, "amount"), body.txid))

    @app.get("/v1/deposits/{deposit_id}", response_model=DepositOut, responses=ERRORS)
    async def get_deposit(deposit_id: str) -> DepositOut:
        wallet.settle()
        d = wallet.deposits.get(deposit_id)
        if d is None:
            raise WalletError(404, f"no deposit {deposit_id!r}", "deposit_id", deposit_id)
        return dep(d)

    @app.post("/v1/withdrawals", status_code=201, response_model=WithdrawalOut, responses=ERRORS)
    async def withdraw(body: WithdrawalIn) -> WithdrawalOut:
        return wd(wallet.withdraw(body.account, body.asset, _dec(body.amount, "amount"), body.address))

    @app.get("/v1/withdrawals/{withdrawal_id}", response_model=WithdrawalOut, responses=ERRORS)
    async def get_withdrawal(withdrawal_id: str) -> WithdrawalOut:
        wallet.settle()
        w = wallet.withdrawals.get(withdrawal_id)
        if w is None:
            raise WalletError(404, f"no withdrawal {withdrawal_id!r}", "withdrawal_id", withdrawal_id)
        return wd(w)

    @app.get("/v1/accounts/{account}/balances", response_model=list[BalanceOut], responses=ERRORS)
    async def balances(account: str) -> list[BalanceOut]:
        wallet.settle()
        return [
            BalanceOut(
                asset=c,
                available=a.text(wallet.available(account, c)),
                pending=a.text(wallet.pending(account, c)),
            )
            for c, a in sorted(wallet.profile.assets.items())
        ]

    @app.get("/v1/accounts/{account}/addresses/{asset}", response_model=AddressOut, responses=ERRORS)
    async def address(account: str, asset: str) -> AddressOut:
        return AddressOut(account=account, asset=asset, address=wallet.address(account, asset))

    return app
