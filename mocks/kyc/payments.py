"""A card and bank payment gateway for funding onboarded accounts: only an account open at the
clock's now may pay in; a card number must pass the Luhn check; amounts are bounded per payment;
a payment is authorised at once and settles ``settle_s`` of virtual time later. Amounts are
integer minor units inside (cents)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from mocks.kyc.onboarding import KycError, Onboarding
from system.clock import NS_PER_SECOND

__all__ = ["Payment", "Payments", "luhn_ok"]


def luhn_ok(number: str) -> bool:
    if not (number.isascii() and number.isdigit()) or not 12 <= len(number) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


@dataclass
class Payment:
    id: str
    account_id: str
    amount: int  # minor units
    currency: str
    method: str
    last4: str
    authorised_ns: int
    settles_ns: int

    def status(self, now: int) -> str:
        return "settled" if now >= self.settles_ns else "authorised"


class Payments:
    def __init__(
        self, onboarding: Onboarding, *, currencies: tuple[str, ...], max_amount: int, settle_s: int
    ) -> None:
        self.onboarding = onboarding
        self.currencies, self.max_amount, self.settle_s = currencies, max_amount, settle_s
        self.payments: dict[str, Payment] = {}

    def pay(
        self, account_id: str, amount: Decimal, currency: str, method: str, card_number: str = ""
    ) -> Payment:
        ob = self.onboarding
        if ob.account(account_id) is None:
            raise KycError(403, f"account {account_id!r} is not open", "account_id", account_id)
        if currency not in self.currencies:
            raise KycError(
                422, f"currency {currency!r} is not one of {', '.join(self.currencies)}", "currency", currency
            )
        cents = amount.scaleb(2)
        if amount <= 0 or cents != cents.to_integral_value():
            raise KycError(
                422, f"amount {amount} must be positive with at most 2 decimals", "amount", str(amount)
            )
        if int(cents) > self.max_amount:
            raise KycError(
                422,
                f"amount {amount} is above the limit {Decimal(self.max_amount).scaleb(-2)}",
                "amount",
                str(amount),
            )
        if method == "card" and not luhn_ok(card_number):
            raise KycError(422, "card number fails the Luhn check", "card_number", card_number[-4:])
        now = ob.clock.now_ns()
        p = Payment(
            f"pay-{len(self.payments) + 1:07d}",
            account_id,
            int(cents),
            currency,
            method,
            card_number[-4:],
            now,
            now + self.settle_s * NS_PER_SECOND,
        )
        self.payments[p.id] = p
        ob.record(
            ob.profile.name,
            "ledger",
            "out",
            json.dumps(
                {
                    "event": "PaymentAuthorised",
                    "id": p.id,
                    "account": account_id,
                    "amount": str(amount),
                    "currency": currency,
                    "method": method,
                    "at": now,
                },
                sort_keys=True,
            ).encode(),
        )
        return p
