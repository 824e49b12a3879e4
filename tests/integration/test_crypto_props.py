"""Properties of the crypto mocks (hypothesis): a correctly signed request is accepted and any
change to its signature, body or key is refused; the precision rules accept exactly the orders on
tick and lot above the minimums; a rate window never admits more than its limit."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mocks.crypto.client import order_request
from mocks.crypto.ratelimit import RateLimiter
from mocks.crypto.venue import Refusal
from system.clock import FixedClock
from tests.integration.crypto_kit import make, send

SYMBOL = {"binance": "BTCUSDT", "coinbase": "BTC-USD", "okx": "BTC-USDT"}
AUTH_FAIL = {"binance": (400, 401), "coinbase": (400, 401), "okx": (401,)}
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)

qty = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("5"), places=3)
cid = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=0, max_size=20)


@SETTINGS
@given(
    style=st.sampled_from(sorted(SYMBOL)),
    q=qty,
    n=st.integers(10_000, 100_000),
    client_id=cid,
    where=st.integers(0, 400),
)
def test_signed_requests_pass_and_a_changed_signature_never_does(
    style: str, q: Decimal, n: int, client_id: str, where: int
) -> None:
    """The client's signature is accepted; the same request with one signature character
    changed is refused as an authentication failure, and nothing reaches the engine."""
    served, app, clock = make(style)
    p = served.venue.profile
    if style == "coinbase" and client_id:
        client_id = "00000000-0000-4000-8000-" + client_id.ljust(12, "0")[:12].replace("g", "a")
        client_id = "".join(c if c in "0123456789abcdef-" else "a" for c in client_id)
    price = str(Decimal(n))
    good = order_request(p, p.keys[0], clock, SYMBOL[style], "BUY", str(q), price, client_id=client_id)
    bad_headers = dict(good.headers)
    target = good.target
    if style == "binance":
        head, _, sig = target.rpartition("signature=")
        i = where % len(sig)
        target = head + "signature=" + sig[:i] + ("0" if sig[i] != "0" else "1") + sig[i + 1 :]
    else:
        name = "CB-ACCESS-SIGN" if style == "coinbase" else "OK-ACCESS-SIGN"
        sig = bad_headers[name]
        i = where % len(sig)
        bad_headers[name] = sig[:i] + ("A" if sig[i] != "A" else "B") + sig[i + 1 :]

    async def main() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://m") as c:
            r = await c.request(good.method, target, headers=bad_headers, content=good.body or None)
            assert r.status_code in AUTH_FAIL[style], r.text
            assert not served.venue.orders
            r = await send(c, good)
            assert r.status_code == 200, r.text
            assert (style == "okx" and r.json()["code"] == "0") or style != "okx"
            assert len(served.venue.orders) == 1

    asyncio.run(main())


price = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("100000"), places=3)
amount = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("10"), places=6)


@SETTINGS
@given(p=price, q=amount)
def test_precision_rules_accept_exactly_the_orders_on_tick_and_lot_above_the_minimums(
    p: Decimal, q: Decimal
) -> None:
    """Binance BTCUSDT (tick 0.01, step 0.00001, min notional 5): the first rule broken is named."""
    served, _, _ = make("binance")
    venue = served.venue
    rule = venue.rule("BTCUSDT")
    if p % rule.tick:
        want = "price_tick"
    elif q % rule.lot:
        want = "qty_lot"
    elif q < rule.min_qty:
        want = "min_qty"
    elif p * q < rule.min_notional:
        want = "min_notional"
    else:
        want = ""
    try:
        q_units, p_units = venue.check(rule, q, p)
    except Refusal as r:
        assert r.kind == want
    else:
        assert want == ""
        assert Decimal(q_units) * rule.lot == q and Decimal(p_units or 0) * rule.tick == p


@settings(max_examples=60, deadline=None, database=None)
@given(
    limit=st.integers(1, 20),
    steps=st.lists(st.tuples(st.integers(0, 3_000_000_000), st.integers(1, 5)), min_size=1, max_size=80),
)
def test_a_rate_window_never_admits_more_than_its_limit(limit: int, steps: list[tuple[int, int]]) -> None:
    """Whatever the arrival times and costs, the weight admitted in one window stays within the limit,
    and a refusal's Retry-After reaches the next window."""
    clock = FixedClock(0)
    rl = RateLimiter(clock, limit, 1)
    per_window: dict[int, int] = {}
    for gap, cost in steps:
        clock.t += gap
        adm = rl.admit("c", cost)
        w = clock.t // 10**9
        if adm.allowed:
            per_window[w] = per_window.get(w, 0) + cost
            assert per_window[w] <= limit and adm.used == per_window[w]
        else:
            assert per_window.get(w, 0) + cost > limit
            assert (clock.t + adm.retry_after_s * 10**9) // 10**9 > w
