"""Steps for the retail-side mocks: crypto exchanges (each API style), the custody wallet and
KYC onboarding. Each mock runs in this process on its ASGI app and answers on the scenario's own
virtual clock, so ``When 20 minutes pass`` confirms deposits and ends rate windows. Requests go
through the same signing client a user's code would use (``mocks.crypto.client``).
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from typing import Any

from steps import values as V
from steps.context import Scenario
from steps.errors import StepFailed, StepInputError
from steps.registry import given, then, when
from steps.tables import Table

_ANSWER = "retail.answer"


class ScenarioClock:
    """The scenario's system clock, as a mock's ``Clock``."""

    def __init__(self, ctx: Scenario) -> None:
        self.ctx = ctx

    def now_ns(self) -> int:
        return self.ctx.now()


class _Client:
    """Synchronous requests to an ASGI app in this process (steps are synchronous)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def request(self, method: str, url: str, **kw: Any) -> Any:
        import asyncio

        import httpx

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://mock") as c:
                return await c.request(method, url, **kw)

        return asyncio.run(go())

    def get(self, url: str, **kw: Any) -> Any:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> Any:
        return self.request("POST", url, **kw)


def _client(app: Any) -> _Client:
    return _Client(app)


def _mocks(ctx: Scenario) -> dict[str, Any]:
    return ctx.bag.setdefault("retail.mocks", {})  # type: ignore[no-any-return]


def _profile(name: str) -> dict[str, Any]:
    from mocks.catalogue import find

    spec = find(name)
    if spec is None:
        raise StepInputError(f"no mock named {name!r} (chronex mock list names them)")
    return tomllib.loads(spec.default_profile.read_text())


def _venue(ctx: Scenario, name: str, **over: Any) -> Any:
    mocks = _mocks(ctx)
    if name not in mocks:
        from mocks.base import MockContext
        from mocks.crypto import served
        from mocks.crypto.styles import build_app

        raw = _profile(name)
        if raw.get("style") is None:
            raise StepInputError(f"mock {name!r} is not a crypto venue")
        s = served(MockContext(raw | over, ScenarioClock(ctx), seed=ctx.seed))
        mocks[name] = (s, _client(build_app(s)))
    return mocks[name]


@given("the crypto venue {name:Word}", "Given the crypto venue binance")
def crypto_venue(ctx: Scenario, name: str) -> None:
    """A crypto exchange mock from its shipped profile (one of the seven venues)."""
    _venue(ctx, name)


@given(
    "the crypto venue {name:Word} allows {n:Int} requests per {d:Duration}",
    "Given the crypto venue binance allows 5 requests per 1 minute",
)
def crypto_venue_limited(ctx: Scenario, name: str, n: str, d: str) -> None:
    """The venue with its rate limit set to ``n`` (Binance: weight) per window."""
    if name in _mocks(ctx):
        raise StepInputError(f"the crypto venue {name} is already set up; give its limit first")
    secs = V.duration(d) // 1_000_000_000
    if secs < 1:
        raise StepInputError(f"a rate window of {d!r} is shorter than a second")
    _venue(ctx, name, rate_limit={"limit": V.integer(n, "request limit"), "window_s": secs})


def _send(ctx: Scenario, name: str, prepared: Any) -> Any:
    _, client = _venue(ctx, name)
    r = client.request(
        prepared.method, prepared.target, headers=prepared.headers, content=prepared.body or None
    )
    ctx.bag[_ANSWER] = (name, r)
    return r


@when(
    "{account:Word} sends a {side:Word} of {qty:Qty} {symbol:Word} at {price:Price} to {name:Word}",
    "When alice sends a sell of 0.5 BTCUSDT at 30000.01 to binance",
)
def send_order(ctx: Scenario, account: str, side: str, qty: str, symbol: str, price: str, name: str) -> None:
    """A signed limit order in the venue's own API style, from the account's API key."""
    from mocks.crypto.client import order_request

    if side not in ("buy", "sell"):
        raise StepInputError(f"side {side!r} is not buy or sell")
    s, _ = _venue(ctx, name)
    key = next((k for k in s.venue.profile.keys if k.account == account), None)
    if key is None:
        raise StepInputError(f"{name} has no API key for account {account!r}")
    _send(
        ctx, name, order_request(s.venue.profile, key, ScenarioClock(ctx), symbol, side.upper(), qty, price)
    )


@when(
    "{account:Word} sends {n:Int} {side:Word}s of {qty:Qty} {symbol:Word} at {price:Price} to {name:Word}",
    "When alice sends 6 buys of 0.01 BTCUSDT at 1000 to binance",
)
def send_orders(
    ctx: Scenario, account: str, n: str, side: str, qty: str, symbol: str, price: str, name: str
) -> None:
    """The same order ``n`` times at once (the last answer is kept)."""
    for _ in range(V.integer(n, "order count")):
        send_order(ctx, account, side, qty, symbol, price, name)


def _answer(ctx: Scenario) -> tuple[str, Any]:
    got = ctx.bag.get(_ANSWER)
    if got is None:
        raise StepInputError("no request has been sent to a mock yet")
    return got  # type: ignore[no-any-return]


@then("the venue accepted the order", "Then the venue accepted the order")
def accepted(ctx: Scenario) -> None:
    """The last order's answer is the venue's success (HTTP 200; OKX code "0")."""
    from mocks.crypto.client import order_answer

    name, r = _answer(ctx)
    s, _ = _venue(ctx, name)
    a = order_answer(s.venue.profile.style, r.status_code, r.json())
    if not a.ok:
        raise StepFailed(f"{name} refused the order: HTTP {r.status_code} {r.text}")


@then(
    "the venue refused it with HTTP {status:Int} and error {code:Text}",
    'Then the venue refused it with HTTP 400 and error "-1013"',
)
def refused(ctx: Scenario, status: str, code: str) -> None:
    """The last answer is a refusal with that HTTP status and the venue's error code (Binance
    ``code``, OKX ``sCode`` or ``code``, Coinbase ``message``)."""
    from mocks.crypto.client import order_answer

    name, r = _answer(ctx)
    s, _ = _venue(ctx, name)
    want = code.strip('"')
    body = r.json()
    if s.venue.profile.style == "binance" or r.status_code != 200:
        got = str(body.get("code", body.get("message", "")))
    else:
        got = order_answer("okx", r.status_code, body).code
    if r.status_code != V.integer(status, "HTTP status") or (got != want and want not in str(body)):
        raise StepFailed(f"expected HTTP {status} with {want}, got HTTP {r.status_code} {r.text}")


@then(
    "{name:Word} traded {qty:Qty} {symbol:Word} at {price:Price}",
    "Then binance traded 0.2 BTCUSDT at 30000.01",
)
def traded(ctx: Scenario, name: str, qty: str, symbol: str, price: str) -> None:
    """The venue's own log holds that trade (matched by Chronex's engine)."""
    from system.engine.events import TradeExecuted

    s, _ = _venue(ctx, name)
    rule = s.venue.rule(symbol)
    want = (Decimal(qty), Decimal(price))
    got = [
        (e.record.qty * rule.lot, e.record.price * rule.tick)
        for e in s.venue.system.store.read(1)
        if isinstance(e.record, TradeExecuted) and e.record.instrument == s.venue.inst_id(symbol)
    ]
    if want not in got:
        raise StepFailed(f"{name} has no trade of {qty} {symbol} at {price}; its trades: {got}")


@when("the client backs off as told", "When the client backs off as told")
def back_off(ctx: Scenario) -> None:
    """Wait the Retry-After of the last (429) answer in virtual time, or the window if it has none."""
    name, r = _answer(ctx)
    if r.status_code != 429:
        raise StepFailed(f"the last answer was HTTP {r.status_code}, not 429")
    s, _ = _venue(ctx, name)
    wait = int(r.headers.get("Retry-After", s.venue.profile.window_s))
    ctx.system().advance(wait * 1_000_000_000)


@then(
    "the answer carries the header {name:Word} = {value:Word}",
    "Then the answer carries the header X-MBX-USED-WEIGHT-1M = 5",
)
def header(ctx: Scenario, name: str, value: str) -> None:
    """A header of the last answer (rate-limit headers)."""
    _, r = _answer(ctx)
    if r.headers.get(name) != value:
        raise StepFailed(f"header {name} is {r.headers.get(name)!r}, expected {value!r}")


# -- wallet -----------------------------------------------------------------------------------------
def _wallet(ctx: Scenario) -> Any:
    mocks = _mocks(ctx)
    if "wallet" not in mocks:
        from mocks.base import MockContext
        from mocks.wallet import WalletMock

        mocks["wallet"] = _client(
            WalletMock(MockContext(_profile("wallet"), ScenarioClock(ctx), seed=ctx.seed)).app
        )
    return mocks["wallet"]


@given("the wallet mock", "Given the wallet mock")
def wallet(ctx: Scenario) -> None:
    """The custody wallet mock from its shipped profile."""
    _wallet(ctx)


@when(
    "a deposit of {amount:Qty} {asset:Word} to {account:Word} is seen on chain as {txid:Word}",
    "When a deposit of 0.5 BTC to alice is seen on chain as tx1",
)
def deposit_seen(ctx: Scenario, amount: str, asset: str, account: str, txid: str) -> None:
    """The chain reports a transfer to the account's deposit address (one confirmation)."""
    r = _wallet(ctx).post(
        "/v1/deposits", json={"account": account, "asset": asset, "amount": amount, "txid": txid}
    )
    if r.status_code != 201:
        raise StepFailed(f"the wallet refused the deposit: HTTP {r.status_code} {r.text}")
    ctx.bag.setdefault("retail.deposits", {})[txid] = r.json()["id"]


@then(
    "deposit {txid:Word} has {n:Int} confirmations and is {status:Word}",
    "Then deposit tx1 has 2 confirmations and is pending",
)
def deposit_state(ctx: Scenario, txid: str, n: str, status: str) -> None:
    """The deposit's confirmations and status (pending or credited) now."""
    dep_id = ctx.bag.get("retail.deposits", {}).get(txid)
    if dep_id is None:
        raise StepInputError(f"no deposit {txid!r} in this scenario")
    d = _wallet(ctx).get(f"/v1/deposits/{dep_id}").json()
    if (d["confirmations"], d["status"]) != (V.integer(n, "confirmations"), status):
        raise StepFailed(f"deposit {txid} has {d['confirmations']} confirmations and is {d['status']}")


@then("{account:Word} has {amount:Qty} {asset:Word} available", "Then alice has 0.5 BTC available")
def available(ctx: Scenario, account: str, amount: str, asset: str) -> None:
    """The account's credited balance, less withdrawals, in the wallet."""
    rows = _wallet(ctx).get(f"/v1/accounts/{account}/balances").json()
    got = next((Decimal(b["available"]) for b in rows if b["asset"] == asset), None)
    if got != Decimal(amount):
        raise StepFailed(f"{account} has {got} {asset} available, expected {amount}")


@when(
    "{account:Word} withdraws {amount:Qty} {asset:Word} to {address:Word}",
    "When alice withdraws 0.1 BTC to bc1qthief",
)
def withdraw(ctx: Scenario, account: str, amount: str, asset: str, address: str) -> None:
    """A withdrawal request; the answer is kept for the next Then."""
    body = {"account": account, "asset": asset, "amount": amount, "address": address}
    ctx.bag[_ANSWER] = ("wallet", _wallet(ctx).post("/v1/withdrawals", json=body))


@then(
    "the wallet refused it with HTTP {status:Int} naming the {field:Word}",
    "Then the wallet refused it with HTTP 403 naming the address",
)
def wallet_refused(ctx: Scenario, status: str, field: str) -> None:
    """The last wallet answer is a problem+json refusal naming that field."""
    _, r = _answer(ctx)
    if r.status_code != V.integer(status, "HTTP status") or r.json().get("field") != field:
        raise StepFailed(f"expected HTTP {status} naming {field}, got HTTP {r.status_code} {r.text}")


@then("the wallet accepted it", "Then the wallet accepted it")
def wallet_accepted(ctx: Scenario) -> None:
    """The last wallet request was accepted (HTTP 201)."""
    _, r = _answer(ctx)
    if r.status_code != 201:
        raise StepFailed(f"the wallet refused: HTTP {r.status_code} {r.text}")


# -- onboarding -------------------------------------------------------------------------------------
def _kyc(ctx: Scenario) -> Any:
    mocks = _mocks(ctx)
    if "onboarding" not in mocks:
        from mocks.base import MockContext
        from mocks.kyc import OnboardingMock

        m = OnboardingMock(MockContext(_profile("onboarding"), ScenarioClock(ctx), seed=ctx.seed))
        mocks["onboarding"] = _client(m.app)
    return mocks["onboarding"]


@given("the onboarding mock", "Given the onboarding mock")
def onboarding(ctx: Scenario) -> None:
    """The KYC onboarding and payments mock from its shipped profile."""
    _kyc(ctx)


_APP_COLUMNS = ("name", "born", "country", "document", "document name", "expires", "referred by")


@when("these applications are submitted:", "When these applications are submitted:")
def submit(ctx: Scenario, table: Table) -> None:
    """One KYC application per row (name; optional born, country, document, document name,
    expires, referred by: the name of an applicant whose referral code to use)."""
    table.require(_APP_COLUMNS, "applications")
    apps = ctx.bag.setdefault("retail.applications", {})
    for row in table.dicts():
        name = row["name"]
        ref = row.get("referred by", "")
        code = ""
        if ref:
            got = _kyc(ctx).get(f"/v1/applications/{apps[ref]}").json() if ref in apps else {}
            code = got.get("referral_code") or ""
            if not code:
                raise StepFailed(f"{ref} has no referral code to give (no open account)")
        body = {
            "full_name": name,
            "date_of_birth": row.get("born") or "1990-01-01",
            "country": row.get("country") or "GB",
            "email": "applicant@example.com",
            "referred_by": code,
            "document": {
                "type": row.get("document") or "passport",
                "number": "X1",
                "expires": row.get("expires") or "2035-01-01",
                "name": row.get("document name") or name,
            },
        }
        r = _kyc(ctx).post("/v1/applications", json=body)
        if r.status_code != 201:
            raise StepFailed(f"the application of {name} was refused: HTTP {r.status_code} {r.text}")
        apps[name] = r.json()["id"]


def _application(ctx: Scenario, name: str) -> dict[str, Any]:
    app_id = ctx.bag.get("retail.applications", {}).get(name)
    if app_id is None:
        raise StepInputError(f"no application from {name!r} in this scenario")
    return _kyc(ctx).get(f"/v1/applications/{app_id}").json()  # type: ignore[no-any-return]


@then("the applications are:", "Then the applications are:")
def applications_are(ctx: Scenario, table: Table) -> None:
    """Each named application's status (pending, approved, rejected, review) and, optionally, a
    reason it gives and whether it has an account with a referral code."""
    table.require(("name", "status", "reason", "account"), "applications")
    bad = []
    for row in table.dicts():
        a = _application(ctx, row["name"])
        if a["status"] != row["status"]:
            bad.append(f"{row['name']}: {a['status']} (expected {row['status']}; reasons {a['reasons']})")
        if row.get("reason") and not any(row["reason"] in r for r in a["reasons"]):
            bad.append(f"{row['name']}: reasons {a['reasons']} lack {row['reason']!r}")
        if row.get("account") == "yes" and not (a["account_id"] and a["referral_code"]):
            bad.append(f"{row['name']}: no account with a referral code")
        if row.get("account") == "no" and a["account_id"]:
            bad.append(f"{row['name']}: has account {a['account_id']}")
    if bad:
        raise StepFailed("; ".join(bad))


@when(
    "reviewer {reviewer:Word} {decision:Word} the application of {name:Text}",
    "When reviewer rev1 approves the application of Ada Lovelace",
)
def review(ctx: Scenario, reviewer: str, decision: str, name: str) -> None:
    """A reviewer settles an application in manual review (approves or rejects)."""
    words = {"approves": "approve", "rejects": "reject"}
    if decision not in words:
        raise StepInputError(f"a reviewer approves or rejects, not {decision!r}")
    app_id = ctx.bag.get("retail.applications", {}).get(name)
    if app_id is None:
        raise StepInputError(f"no application from {name!r} in this scenario")
    r = _kyc(ctx).post(
        f"/v1/applications/{app_id}/review", json={"decision": words[decision], "reviewer": reviewer}
    )
    if r.status_code != 200:
        raise StepFailed(f"the review was refused: HTTP {r.status_code} {r.text}")


@then("{name:Text} was referred by {other:Text}", "Then Bob Smith was referred by Ada Lovelace")
def referred(ctx: Scenario, name: str, other: str) -> None:
    """The application carries the referral code of the other applicant's account."""
    a, b = _application(ctx, name), _application(ctx, other)
    if not b["referral_code"] or a["referred_by"] != b["referral_code"]:
        raise StepFailed(
            f"{name} was referred by {a['referred_by']!r}; {other}'s code is {b['referral_code']!r}"
        )
