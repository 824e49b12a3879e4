"""KYC onboarding in virtual time: an application's documents are checked by the next free
checker, taking ``check_ms`` of virtual time each; the decision is approve, reject or manual
review, and a reviewer settles a review. An approved application opens an account with its own
referral code; an application may name the referral code of an existing account.

Capacity is ``checkers * 3_600_000 / check_ms`` applications per virtual hour (the default
profile: 4 checkers at 400 ms, 36,000 an hour). Decisions are computed when the application
arrives (the queue is first come, first served, so its decision time is known then) and become
visible once the clock reaches it. Every change is written through the recorder.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from mocks.base import MockError, Recorder
from mocks.fields import Fields
from system.clock import NS_PER_MS, Clock, to_datetime

__all__ = ["Application", "KycError", "KycProfile", "Onboarding", "parse_profile"]

DOCUMENTS = ("passport", "id_card", "driving_licence", "residence_permit")
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed by people


class KycError(Exception):
    def __init__(self, status: int, detail: str, field: str = "", value: str = "") -> None:
        super().__init__(detail)
        self.status, self.detail, self.field, self.value = status, detail, field, value


@dataclass(frozen=True)
class KycProfile:
    name: str
    checkers: int
    check_ms: int
    min_age: int
    documents: tuple[str, ...]
    blocked_countries: tuple[str, ...]
    review_countries: tuple[str, ...]
    sanctioned: tuple[str, ...]  # names, compared case-insensitively
    expiry_review_days: int  # a document expiring this soon goes to manual review

    @property
    def per_hour(self) -> int:
        return self.checkers * 3_600_000 // self.check_ms


@dataclass
class Application:
    id: str
    full_name: str
    date_of_birth: date
    country: str
    email: str
    document_type: str
    document_number: str
    document_expires: date
    document_name: str
    referred_by: str
    submitted_ns: int
    decided_ns: int  # when the checks finish (virtual time)
    outcome: str  # approved | rejected | review: the checks' verdict
    reasons: list[str] = field(default_factory=list)
    reviewed_ns: int | None = None
    review_outcome: str = ""
    reviewer: str = ""
    account_id: str = ""
    referral_code: str = ""

    def status(self, now: int) -> str:
        if now < self.decided_ns:
            return "pending"
        if self.outcome == "review" and self.review_outcome:
            return self.review_outcome
        return self.outcome


def parse_profile(raw: dict[str, Any]) -> KycProfile:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise MockError(f"onboarding mock: name = {name!r} must be a non-empty string")
    f = Fields(name, "", raw)
    docs = f.texts("documents") or DOCUMENTS
    for d in docs:
        if d not in DOCUMENTS:
            f.fail("documents", d, f"is not one of {', '.join(DOCUMENTS)}")
    return KycProfile(
        name=name,
        checkers=f.integer("checkers", 4),
        check_ms=f.integer("check_ms", 400),
        min_age=f.integer("min_age", 18, low=0),
        documents=docs,
        blocked_countries=f.texts("blocked_countries"),
        review_countries=f.texts("review_countries"),
        sanctioned=tuple(n.casefold() for n in f.texts("sanctioned")),
        expiry_review_days=f.integer("expiry_review_days", 30, low=0),
    )


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


class Onboarding:
    def __init__(self, profile: KycProfile, clock: Clock, record: Recorder, *, seed: int = 0) -> None:
        self.profile, self.clock, self.record, self.seed = profile, clock, record, seed
        self.applications: dict[str, Application] = {}
        self.by_referral: dict[str, Application] = {}
        self._free: list[int] = [0] * profile.checkers  # when each checker is next free (a heap)
        self._accounts = 0
        self.accounts: dict[str, Application] = {}

    def _log(self, kind: str, **what: Any) -> None:
        self.record(
            self.profile.name, "ledger", "out", json.dumps({"event": kind, **what}, sort_keys=True).encode()
        )

    def _code(self, n: int) -> str:
        h = hashlib.sha256(f"{self.profile.name}:{self.seed}:referral:{n}".encode()).digest()
        return "".join(_ALPHABET[b % len(_ALPHABET)] for b in h[:8])

    def submit(
        self,
        full_name: str,
        date_of_birth: date,
        country: str,
        email: str,
        document_type: str,
        document_number: str,
        document_expires: date,
        document_name: str,
        referred_by: str = "",
    ) -> Application:
        if document_type not in DOCUMENTS:
            raise KycError(
                422,
                f"document type {document_type!r} is not one of {', '.join(DOCUMENTS)}",
                "document.type",
                document_type,
            )
        if referred_by and referred_by not in self.by_referral:
            raise KycError(
                422, f"referral code {referred_by!r} belongs to no account", "referred_by", referred_by
            )
        now = self.clock.now_ns()
        start = max(now, heapq.heappop(self._free))
        done = start + self.profile.check_ms * NS_PER_MS
        heapq.heappush(self._free, done)
        today = to_datetime(now).date()
        p = self.profile
        reject, review = [], []
        if _age(date_of_birth, today) < p.min_age:
            reject.append(f"applicant is under {p.min_age}")
        if document_type not in p.documents:
            reject.append(f"document type {document_type} is not accepted")
        if document_expires < today:
            reject.append("document has expired")
        elif (document_expires - today).days <= p.expiry_review_days:
            review.append(f"document expires within {p.expiry_review_days} days")
        if country in p.blocked_countries:
            reject.append(f"country {country} is not served")
        elif country in p.review_countries:
            review.append(f"country {country} needs enhanced due diligence")
        if full_name.casefold() in p.sanctioned or document_name.casefold() in p.sanctioned:
            reject.append("name matches a sanctions list entry")
        if document_name.casefold().split() != full_name.casefold().split():
            review.append("name on the document differs from the application")
        outcome = "rejected" if reject else "review" if review else "approved"
        app = Application(
            f"app-{len(self.applications) + 1:07d}",
            full_name,
            date_of_birth,
            country,
            email,
            document_type,
            document_number,
            document_expires,
            document_name,
            referred_by,
            now,
            done,
            outcome,
            reject or review,
        )
        self.applications[app.id] = app
        self._log("ApplicationSubmitted", id=app.id, country=country, document=document_type, at=now)
        self._log("ApplicationChecked", id=app.id, outcome=outcome, reasons=app.reasons, at=done)
        if outcome == "approved":
            self._open(app, done)
        return app

    def _open(self, app: Application, at: int) -> None:
        self._accounts += 1
        app.account_id = f"acct-{self._accounts:07d}"
        app.referral_code = self._code(self._accounts)
        self.by_referral[app.referral_code] = app
        self.accounts[app.account_id] = app
        self._log(
            "AccountOpened",
            id=app.id,
            account=app.account_id,
            referral_code=app.referral_code,
            referred_by=app.referred_by,
            at=at,
        )

    def get(self, app_id: str) -> Application:
        app = self.applications.get(app_id)
        if app is None:
            raise KycError(404, f"no application {app_id!r}", "application_id", app_id)
        return app

    def review(self, app_id: str, decision: str, reviewer: str, note: str = "") -> Application:
        """A reviewer's decision on an application in manual review."""
        app = self.get(app_id)
        now = self.clock.now_ns()
        if app.status(now) != "review":
            raise KycError(
                409, f"application {app_id} is {app.status(now)}, not in review", "application_id", app_id
            )
        if decision not in ("approve", "reject"):
            raise KycError(422, f"decision {decision!r} is not approve or reject", "decision", decision)
        app.review_outcome = "approved" if decision == "approve" else "rejected"
        app.reviewed_ns, app.reviewer = now, reviewer
        self._log(
            "ApplicationReviewed",
            id=app.id,
            decision=app.review_outcome,
            reviewer=reviewer,
            note=note,
            at=now,
        )
        if decision == "approve":
            self._open(app, now)
        return app

    def account(self, account_id: str) -> Application | None:
        """The application behind an open account, if the account is open at the clock's now."""
        app = self.accounts.get(account_id)
        return app if app is not None and app.status(self.clock.now_ns()) == "approved" else None
