"""The onboarding REST API: KYC applications, manual review, and payments into open accounts.
problem+json (RFC 9457) for every refusal, naming the field and the value."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from mocks.asgi import problem
from mocks.httpreplay import record_exchanges
from mocks.kyc.onboarding import Application, KycError, Onboarding
from mocks.kyc.payments import Payment, Payments
from system.gateways.rest.problems import ProblemModel, install

__all__ = ["build_app"]

ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ProblemModel, "content": {"application/problem+json": {}}} for s in (403, 404, 409, 422)
}


class DocumentIn(BaseModel):
    type: str = Field(min_length=1, max_length=32)
    number: str = Field(min_length=1, max_length=64)
    expires: date
    name: str = Field(min_length=1, max_length=200)


class ApplicationIn(BaseModel):
    full_name: str = Field(min_length=1, max_length=200)
    date_of_birth: date
    country: str = Field(pattern=r"^[A-Z]{2}$")
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)
    document: DocumentIn
    referred_by: str = Field(default="", max_length=16)


class ApplicationOut(BaseModel):
    id: str
    status: str  # pending | approved | rejected | review
    reasons: list[str]
    submitted_at_ns: int
    decided_at_ns: int | None
    account_id: str | None
    referral_code: str | None
    referred_by: str | None
    reviewer: str | None


class ReviewIn(BaseModel):
    decision: Literal["approve", "reject"]
    reviewer: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=1000)


class PaymentIn(BaseModel):
    account_id: str = Field(min_length=1, max_length=32)
    amount: str = Field(pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$")
    currency: str = Field(min_length=3, max_length=3)
    method: Literal["card", "bank"]
    card_number: str = Field(default="", max_length=19)


class PaymentOut(BaseModel):
    id: str
    account_id: str
    amount: str
    currency: str
    method: str
    last4: str
    status: str  # authorised | settled
    authorised_at_ns: int
    settles_at_ns: int


def build_app(onboarding: Onboarding, payments: Payments) -> FastAPI:
    name = onboarding.profile.name
    app = FastAPI(title=f"{name} (KYC onboarding and payments mock)", version="1")
    install(app)

    record_exchanges(app, name, onboarding.record)  # so --replay can serve them back

    @app.exception_handler(KycError)
    async def refused(_: Request, e: KycError) -> JSONResponse:
        titles = {403: "Forbidden", 404: "Not found", 409: "Conflict", 422: "Unprocessable content"}
        return problem(e, titles)

    def out(a: Application) -> ApplicationOut:
        now = onboarding.clock.now_ns()
        status = a.status(now)
        decided = a.reviewed_ns if a.review_outcome else (a.decided_ns if status != "pending" else None)
        opened = status == "approved"
        return ApplicationOut(
            id=a.id,
            status=status,
            reasons=a.reasons if status != "pending" else [],
            submitted_at_ns=a.submitted_ns,
            decided_at_ns=decided,
            account_id=a.account_id if opened else None,
            referral_code=a.referral_code if opened else None,
            referred_by=a.referred_by or None,
            reviewer=a.reviewer or None,
        )

    def pay_out(p: Payment) -> PaymentOut:
        return PaymentOut(
            id=p.id,
            account_id=p.account_id,
            amount=str(Decimal(p.amount).scaleb(-2)),
            currency=p.currency,
            method=p.method,
            last4=p.last4,
            status=p.status(onboarding.clock.now_ns()),
            authorised_at_ns=p.authorised_ns,
            settles_at_ns=p.settles_ns,
        )

    @app.post("/v1/applications", status_code=201, response_model=ApplicationOut, responses=ERRORS)
    async def submit(body: ApplicationIn) -> ApplicationOut:
        d = body.document
        a = onboarding.submit(
            body.full_name,
            body.date_of_birth,
            body.country,
            body.email,
            d.type,
            d.number,
            d.expires,
            d.name,
            body.referred_by,
        )
        return out(a)

    @app.get("/v1/applications/{application_id}", response_model=ApplicationOut, responses=ERRORS)
    async def get(application_id: str) -> ApplicationOut:
        return out(onboarding.get(application_id))

    @app.post("/v1/applications/{application_id}/review", response_model=ApplicationOut, responses=ERRORS)
    async def review(application_id: str, body: ReviewIn) -> ApplicationOut:
        return out(onboarding.review(application_id, body.decision, body.reviewer, body.note))

    @app.post("/v1/payments", status_code=201, response_model=PaymentOut, responses=ERRORS)
    async def pay(body: PaymentIn) -> PaymentOut:
        return pay_out(
            payments.pay(body.account_id, Decimal(body.amount), body.currency, body.method, body.card_number)
        )

    @app.get("/v1/payments/{payment_id}", response_model=PaymentOut, responses=ERRORS)
    async def get_payment(payment_id: str) -> PaymentOut:
        p = payments.payments.get(payment_id)
        if p is None:
            raise KycError(404, f"no payment {payment_id!r}", "payment_id", payment_id)
        return pay_out(p)

    return app
