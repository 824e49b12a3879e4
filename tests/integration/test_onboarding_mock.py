"""The KYC onboarding and payments mock: approvals, rejections and manual review in virtual
time, referral codes on every account, its capacity of at least 5,000 applications a virtual
hour, payments only into open accounts."""

from __future__ import annotations

import asyncio
import re
import tomllib
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from mocks.base import MockContext, MockError
from mocks.kyc import OnboardingMock, build
from system.clock import NS_PER_SECOND, FixedClock

T0 = 1_925_424_000 * 10**9  # 2031-01-05
PROFILE = tomllib.loads(Path("mocks/kyc/onboarding.toml").read_text())
HOUR = 3_600 * NS_PER_SECOND
CARD = "4111111111111111"


def application(name: str = "Ada Lovelace", **over: Any) -> dict[str, Any]:
    doc = {"type": "passport", "number": "P123", "expires": "2035-01-01", "name": name}
    doc |= over.pop("document", {})
    return {"full_name": name, "date_of_birth": "1990-05-01", "country": "GB", "email": "ada@example.com",
            "document": doc} | over  # fmt: skip


def run(test: Callable[[httpx.AsyncClient, FixedClock], Awaitable[None]], **profile: Any) -> None:
    clock = FixedClock(T0)
    mock = OnboardingMock(MockContext(PROFILE | profile, clock))

    async def main() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mock.app), base_url="http://kyc") as c:
            await test(c, clock)

    asyncio.run(main())


def test_a_clean_application_is_approved_after_its_check_with_an_account_and_referral_code() -> None:
    """Pending until the check's virtual time has passed; then approved with an account."""

    async def t(c: httpx.AsyncClient, clock: FixedClock) -> None:
        r = await c.post("/v1/applications", json=application())
        assert r.status_code == 201 and r.json()["status"] == "pending" and r.json()["account_id"] is None
        clock.t += 400 * 10**6
        a = (await c.get(f"/v1/applications/{r.json()['id']}")).json()
        assert a["status"] == "approved" and a["account_id"] == "acct-0000001"
        assert re.fullmatch(r"[A-HJ-NP-Z2-9]{8}", a["referral_code"])
        r = await c.post("/v1/applications", json=application("Bob Smith", referred_by=a["referral_code"]))
        clock.t += 10**9
        b = (await c.get(f"/v1/applications/{r.json()['id']}")).json()
        assert b["referred_by"] == a["referral_code"] and b["referral_code"] != a["referral_code"]

    run(t)


@pytest.mark.parametrize(
    ("app", "reason"),
    [
        (application(date_of_birth="2020-01-01"), "applicant is under 18"),
        (application(document={"expires": "2020-01-01"}), "document has expired"),
        (application(country="KP"), "country KP is not served"),
        (application("Ivan Sanctioned"), "name matches a sanctions list entry"),
        (
            application(document={"type": "residence_permit"}),
            "document type residence_permit is not accepted",
        ),
    ],
)
def test_rejections_name_their_reason(app: dict[str, Any], reason: str) -> None:
    """A failed document or applicant check rejects, naming why, and opens no account."""

    async def t(c: httpx.AsyncClient, clock: FixedClock) -> None:
        r = await c.post("/v1/applications", json=app)
        clock.t += NS_PER_SECOND
        a = (await c.get(f"/v1/applications/{r.json()['id']}")).json()
        assert a["status"] == "rejected" and reason in a["reasons"] and a["account_id"] is None

    run(t)


def test_manual_review_waits_for_a_reviewer_who_approves_or_rejects() -> None:
    """A name mismatch goes to review; the reviewer's approval opens the account; a decided
    application cannot be reviewed again (409)."""

    async def t(c: httpx.AsyncClient, clock: FixedClock) -> None:
        r = await c.post("/v1/applications", json=application(document={"name": "A. Lovelace"}))
        app_id = r.json()["id"]
        early = await c.post(
            f"/v1/applications/{app_id}/review", json={"decision": "approve", "reviewer": "rev1"}
        )
        assert early.status_code == 409  # still pending its automatic check
        clock.t += HOUR
        a = (await c.get(f"/v1/applications/{app_id}")).json()
        assert a["status"] == "review" and a["reasons"] == [
            "name on the document differs from the application"
        ]
        r = await c.post(
            f"/v1/applications/{app_id}/review", json={"decision": "approve", "reviewer": "rev1"}
        )
        assert r.json()["status"] == "approved" and r.json()["account_id"] and r.json()["reviewer"] == "rev1"
        again = await c.post(
            f"/v1/applications/{app_id}/review", json={"decision": "reject", "reviewer": "rev2"}
        )
        assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
        r = await c.post("/v1/applications", json=application(country="RU"))
        clock.t += HOUR
        r = await c.post(
            f"/v1/applications/{r.json()['id']}/review", json={"decision": "reject", "reviewer": "rev2"}
        )
        assert r.json()["status"] == "rejected" and r.json()["account_id"] is None

    run(t)


def test_five_thousand_applications_an_hour_are_all_decided_within_the_hour() -> None:
    """5,000 applications arriving evenly over one virtual hour are all decided by its end."""
    clock = FixedClock(T0)
    ob, _ = build(MockContext(PROFILE, clock))
    gap = HOUR // 5_000
    apps = []
    for i in range(5_000):
        clock.t = T0 + i * gap
        apps.append(ob.submit(f"Person {i}", date(1990, 1, 1), "GB", f"p{i}@x.io", "passport", f"P{i}",
                              date(2035, 1, 1), f"Person {i}"))  # fmt: skip
    clock.t = T0 + HOUR
    assert all(a.status(clock.t) == "approved" for a in apps)
    assert max(a.decided_ns for a in apps) <= T0 + HOUR
    assert len({a.referral_code for a in apps}) == 5_000  # one code per account, no two alike


def test_five_thousand_applications_an_hour_over_http_are_all_decided_within_the_hour() -> None:
    """The same rate through the REST API a client uses: 5,000 POSTs spread over a virtual hour,
    each answered 201; at the hour's end the last ones to arrive (the most at risk) and the first
    are approved, each with its own referral code."""

    async def t(c: httpx.AsyncClient, clock: FixedClock) -> None:
        ids = []
        for i in range(5_000):
            clock.t = T0 + i * (HOUR // 5_000)
            r = await c.post("/v1/applications", json=application(f"Person {i}"))
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        clock.t = T0 + HOUR
        decided = [(await c.get(f"/v1/applications/{i}")).json() for i in [ids[0], *ids[-50:]]]
        assert all(a["status"] == "approved" for a in decided)
        assert len({a["referral_code"] for a in decided}) == len(decided)

    run(t)


def test_a_slower_profile_cannot_keep_up_with_five_thousand_an_hour() -> None:
    """One checker at 1 s each (3,600 an hour) leaves applications pending at the hour's end."""
    clock = FixedClock(T0)
    ob, _ = build(MockContext(PROFILE | {"checkers": 1, "check_ms": 1_000}, clock))
    for i in range(5_000):
        clock.t = T0 + i * (HOUR // 5_000)
        ob.submit(f"P {i}", date(1990, 1, 1), "GB", "p@x.io", "passport", "P", date(2035, 1, 1), f"P {i}")
    clock.t = T0 + HOUR
    pending = sum(a.status(clock.t) == "pending" for a in ob.applications.values())
    assert pending > 1_000


def test_payments_only_into_open_accounts_with_a_valid_card_and_settle_later() -> None:
    """A payment into an open account authorises then settles; other accounts and bad cards refused."""

    async def t(c: httpx.AsyncClient, clock: FixedClock) -> None:
        r = await c.post("/v1/applications", json=application())
        pay = {
            "account_id": "acct-0000001",
            "amount": "250.00",
            "currency": "USD",
            "method": "card",
            "card_number": CARD,
        }
        early = await c.post("/v1/payments", json=pay)
        assert early.status_code == 403 and early.json()["field"] == "account_id"  # not open yet
        clock.t += NS_PER_SECOND
        r = await c.post("/v1/payments", json=pay)
        assert r.status_code == 201 and r.json()["status"] == "authorised" and r.json()["last4"] == "1111"
        bad = await c.post("/v1/payments", json=pay | {"card_number": "4111111111111112"})
        assert bad.status_code == 422 and bad.json()["field"] == "card_number"
        big = await c.post("/v1/payments", json=pay | {"amount": "10000.01"})
        assert big.status_code == 422 and big.json()["field"] == "amount"
        clock.t += 86_400 * NS_PER_SECOND
        assert (await c.get(f"/v1/payments/{r.json()['id']}")).json()["status"] == "settled"

    run(t)


def test_unknown_referral_code_and_malformed_applications_are_422_problems() -> None:
    """A referral code no account has, a bad country or date: 422 problem+json naming the field."""

    async def t(c: httpx.AsyncClient, clock: FixedClock) -> None:
        r = await c.post("/v1/applications", json=application(referred_by="NOPE2345"))
        assert r.status_code == 422 and r.json()["field"] == "referred_by"
        r = await c.post("/v1/applications", json=application(country="gb"))
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        r = await c.post("/v1/applications", json=application(date_of_birth="1990-13-01"))
        assert r.status_code == 422

    run(t)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"checkers": 0}, "checkers"),
        ({"check_ms": "fast"}, "check_ms"),
        ({"documents": ["passport", "selfie"]}, "documents"),
        ({"payments": {"settle_s": -1}}, "payments.settle_s"),
        ({"payments": {"max_amount": "0.001"}}, "payments.max_amount"),
    ],
)
def test_a_bad_onboarding_profile_names_the_field(change: dict[str, Any], field: str) -> None:
    """A bad profile value is a MockError naming the field."""
    with pytest.raises(MockError, match=f"onboarding mock: {re.escape(field)} = "):
        build(MockContext(PROFILE | change, FixedClock(0)))
