"""Custody wallets in virtual time: deposit addresses, deposits credited after the asset's
confirmations, withdrawals only to allow-listed addresses.

A deposit is seen on chain at a time; it gains a confirmation every ``block_time_s`` of virtual
time after that (the first when seen), and is credited when it has ``confirmations``. State is
settled lazily on every call (any clock works, nothing needs a timer), and each change (seen,
credited, withdrawal requested, withdrawal completed) is written through the recorder with its
virtual time, so the log holds the wallet's history. Amounts are integer base units inside
(``decimals`` per asset); decimals are only the API's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mocks.base import MockError, Recorder
from mocks.fields import Fields
from system.clock import NS_PER_SECOND, Clock

__all__ = ["Asset", "Deposit", "Wallet", "WalletError", "WalletProfile", "Withdrawal", "parse_profile"]


class WalletError(Exception):
    """A refused request: ``status`` is the HTTP status, ``field``/``value`` what was wrong."""

    def __init__(self, status: int, detail: str, field: str = "", value: str = "") -> None:
        super().__init__(detail)
        self.status, self.detail, self.field, self.value = status, detail, field, value


@dataclass(frozen=True)
class Asset:
    asset: str
    decimals: int
    confirmations: int
    block_time_s: int
    min_withdrawal: int  # base units
    fee: int  # base units

    def units(self, amount: Decimal, what: str) -> int:
        q = amount.scaleb(self.decimals)
        if not amount.is_finite() or amount <= 0 or q != q.to_integral_value():
            raise WalletError(
                400,
                f"{what} {amount} must be positive with at most {self.decimals} decimals",
                what,
                str(amount),
            )
        return int(q)

    def text(self, units: int) -> str:
        d = Decimal(units).scaleb(-self.decimals)
        return format(d, "f")


@dataclass(frozen=True)
class WalletProfile:
    name: str
    assets: dict[str, Asset]
    allow: dict[str, tuple[str, ...]]  # account -> withdrawal addresses


@dataclass
class Deposit:
    id: str
    account: str
    asset: str
    amount: int
    txid: str
    seen_ns: int
    credited_ns: int | None = None


@dataclass
class Withdrawal:
    id: str
    account: str
    asset: str
    amount: int
    fee: int
    address: str
    requested_ns: int
    completed_ns: int | None = None


@dataclass
class _Book:
    deposits: list[Deposit] = field(default_factory=list)
    withdrawals: list[Withdrawal] = field(default_factory=list)


def parse_profile(raw: dict[str, Any]) -> WalletProfile:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise MockError(f"wallet mock: name = {name!r} must be a non-empty string")
    top = Fields(name, "", raw)
    assets: dict[str, Asset] = {}
    for i, t in enumerate(top.tables("asset")):
        f = Fields(name, f"asset[{i}]", t)
        code = f.text("asset")
        decimals = f.integer("decimals", 8, low=0)
        if decimals > 18:
            f.fail("decimals", decimals, "must be at most 18")
        a = Asset(code, decimals, f.integer("confirmations"), f.integer("block_time_s"), 0, 0)
        mins = {}
        for fld in ("min_withdrawal", "fee"):
            d = f.decimal(fld, "0")
            q = d.scaleb(decimals)
            if q != q.to_integral_value():
                f.fail(fld, str(d), f"has more than {decimals} decimals")
            mins[fld] = int(q)
        if code in assets:
            f.fail("asset", code, "is listed twice")
        assets[code] = Asset(
            a.asset, a.decimals, a.confirmations, a.block_time_s, mins["min_withdrawal"], mins["fee"]
        )
    allow: dict[str, tuple[str, ...]] = {}
    for i, t in enumerate(top.tables("account")):
        f = Fields(name, f"account[{i}]", t)
        allow[f.text("account")] = f.texts("allow")
    return WalletProfile(name, assets, allow)


class Wallet:
    def __init__(self, profile: WalletProfile, clock: Clock, record: Recorder, *, seed: int = 0) -> None:
        self.profile, self.clock, self.record, self.seed = profile, clock, record, seed
        self.books: dict[str, _Book] = {}
        self.deposits: dict[str, Deposit] = {}
        self.withdrawals: dict[str, Withdrawal] = {}
        self._txids: set[tuple[str, str]] = set()

    # -- helpers ----------------------------------------------------------------------------------
    def _asset(self, code: str) -> Asset:
        a = self.profile.assets.get(code)
        if a is None:
            raise WalletError(404, f"unknown asset {code!r}", "asset", code)
        return a

    def _account(self, account: str) -> _Book:
        if account not in self.profile.allow:
            raise WalletError(404, f"unknown account {account!r}", "account", account)
        return self.books.setdefault(account, _Book())

    def _log(self, kind: str, **what: Any) -> None:
        body = {"event": kind, **what}
        self.record(self.profile.name, "ledger", "out", json.dumps(body, sort_keys=True).encode())

    def _id(self, kind: str, n: int) -> str:
        digest = hashlib.sha256(f"{self.profile.name}:{self.seed}:{kind}:{n}".encode()).hexdigest()
        return f"{kind}-{digest[:16]}"

    def confirmations(self, d: Deposit) -> int:
        a = self.profile.assets[d.asset]
        now = self.clock.now_ns()
        if now < d.seen_ns:
            return 0
        return min(a.confirmations, 1 + (now - d.seen_ns) // (a.block_time_s * NS_PER_SECOND))

    def settle(self) -> None:
        """Credit what has its confirmations and complete withdrawals whose block has passed,
        each at the virtual time it happened (not the time it is noticed)."""
        now = self.clock.now_ns()
        for d in self.deposits.values():
            if d.credited_ns is None:
                a = self.profile.assets[d.asset]
                at = d.seen_ns + (a.confirmations - 1) * a.block_time_s * NS_PER_SECOND
                if at <= now:
                    d.credited_ns = at
                    self._log(
                        "DepositCredited",
                        id=d.id,
                        account=d.account,
                        asset=d.asset,
                        amount=a.text(d.amount),
                        at=at,
                    )
        for w in self.withdrawals.values():
            if w.completed_ns is None:
                a = self.profile.assets[w.asset]
                at = w.requested_ns + a.confirmations * a.block_time_s * NS_PER_SECOND
                if at <= now:
                    w.completed_ns = at
                    self._log("WithdrawalCompleted", id=w.id, at=at)

    # -- commands ---------------------------------------------------------------------------------
    def address(self, account: str, asset: str) -> str:
        self._account(account)
        self._asset(asset)
        h = hashlib.sha256(f"{self.profile.name}:{self.seed}:{account}:{asset}".encode()).hexdigest()
        return f"{asset.lower()}1{h[:38]}"

    def deposit(self, account: str, asset: str, amount: Decimal, txid: str) -> Deposit:
        """A transfer to ``account``'s address seen on chain now (the chain's notification)."""
        book = self._account(account)
        a = self._asset(asset)
        units = a.units(amount, "amount")
        if not txid or (asset, txid) in self._txids:
            raise WalletError(409, f"transaction {txid!r} is already known", "txid", txid)
        self.settle()
        d = Deposit(self._id("dep", len(self.deposits) + 1), account, asset, units, txid, self.clock.now_ns())
        self._txids.add((asset, txid))
        self.deposits[d.id] = d
        book.deposits.append(d)
        self._log(
            "DepositSeen",
            id=d.id,
            account=account,
            asset=asset,
            amount=a.text(units),
            txid=txid,
            at=d.seen_ns,
        )
        self.settle()  # one confirmation needed: credited at once
        return d

    def withdraw(self, account: str, asset: str, amount: Decimal, address: str) -> Withdrawal:
        book = self._account(account)
        a = self._asset(asset)
        units = a.units(amount, "amount")
        if address not in self.profile.allow[account]:
            raise WalletError(
                403, f"address {address!r} is not on {account}'s withdrawal allow-list", "address", address
            )
        if units < a.min_withdrawal:
            raise WalletError(
                400,
                f"amount {amount} is below the minimum withdrawal {a.text(a.min_withdrawal)}",
                "amount",
                str(amount),
            )
        self.settle()
        free = self.available(account, asset)
        if units + a.fee > free:
            raise WalletError(
                400,
                f"amount {amount} plus fee {a.text(a.fee)} exceeds the available {a.text(free)}",
                "amount",
                str(amount),
            )
        w = Withdrawal(
            self._id("wd", len(self.withdrawals) + 1),
            account,
            asset,
            units,
            a.fee,
            address,
            self.clock.now_ns(),
        )
        self.withdrawals[w.id] = w
        book.withdrawals.append(w)
        self._log(
            "WithdrawalRequested",
            id=w.id,
            account=account,
            asset=asset,
            amount=a.text(units),
            fee=a.text(a.fee),
            address=address,
            at=w.requested_ns,
        )
        return w

    # -- queries ----------------------------------------------------------------------------------
    def available(self, account: str, asset: str) -> int:
        book = self._account(account)
        credited = sum(d.amount for d in book.deposits if d.asset == asset and d.credited_ns is not None)
        out = sum(w.amount + w.fee for w in book.withdrawals if w.asset == asset)
        return credited - out

    def pending(self, account: str, asset: str) -> int:
        book = self._account(account)
        return sum(d.amount for d in book.deposits if d.asset == asset and d.credited_ns is None)
