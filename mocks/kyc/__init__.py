"""KYC onboarding and payment gateway mock: applications checked in virtual time (approve,
reject, manual review), accounts with referral codes, card and bank payments into open accounts.
See docs/mocks.md."""

from __future__ import annotations

from pathlib import Path

from mocks.asgi import HttpMock
from mocks.base import MockContext, MockSpec
from mocks.fields import Fields
from mocks.kyc.app import build_app
from mocks.kyc.onboarding import KycError, Onboarding, parse_profile
from mocks.kyc.payments import Payments

__all__ = ["SPEC", "KycError", "Onboarding", "OnboardingMock", "Payments", "build", "parse_profile"]


def build(ctx: MockContext) -> tuple[Onboarding, Payments]:
    """The onboarding service and its payment gateway, without a socket."""
    profile = parse_profile(ctx.profile)
    ob = Onboarding(profile, ctx.clock, ctx.record, seed=ctx.seed)
    f = Fields(profile.name, "payments", ctx.profile.get("payments", {}))
    max_amount = f.decimal("max_amount", "10000").scaleb(2)
    if max_amount != max_amount.to_integral_value() or max_amount <= 0:
        f.fail("max_amount", str(f.table.get("max_amount")), "must be positive with at most 2 decimals")
    currencies = f.texts("currencies") or ("USD", "EUR", "GBP")
    pay = Payments(
        ob, currencies=currencies, max_amount=int(max_amount), settle_s=f.integer("settle_s", 86_400)
    )
    return ob, pay


class OnboardingMock(HttpMock):
    def __init__(self, ctx: MockContext) -> None:
        self.onboarding, self.payments = build(ctx)
        self.serve(self.onboarding.profile.name, build_app(self.onboarding, self.payments), ctx)


SPEC = MockSpec(
    "onboarding",
    "KYC onboarding (approve, reject, manual review, referral codes) and a payment gateway",
    Path(__file__).parent / "onboarding.toml",
    OnboardingMock,
    replay_role="http",
)
