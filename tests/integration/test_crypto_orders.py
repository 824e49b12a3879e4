"""Orders into each crypto API style: they match in Chronex's engine, are logged, and every
refusal is the venue's own error answer (codes and bodies from the public API docs)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from mocks.crypto.client import cancel_request, order_answer, order_request, prepare
from mocks.crypto.styles.common import Served
from system.clock import FixedClock
from system.engine.events import OrderAccepted, TradeExecuted
from tests.integration.crypto_kit import run, send

SYMBOL = {"binance": "BTCUSDT", "coinbase": "BTC-USD", "okx": "BTC-USDT"}


def _keys(s: Served) -> tuple[object, object]:
    p = s.venue.profile
    return p.keys[0], p.keys[1]


@pytest.mark.parametrize("style", ["binance", "coinbase", "okx"])
def test_a_crossing_order_trades_in_the_engine_and_both_sides_are_logged(style: str) -> None:
    """A resting sell and a crossing buy trade once at the resting price, and the log says so."""

    async def t(c: httpx.AsyncClient, s: Served, clock: FixedClock) -> None:
        p = s.venue.profile
        alice, bob = p.keys
        r = await send(
            c,
            order_request(
                p, alice, clock, SYMBOL[style], "SELL", "0.5", "30000.1" if style == "okx" else "30000.01"
            ),
        )
        sell = order_answer(style, r.status_code, r.json())
        assert r.status_code == 200 and sell.ok, r.text
        clock.t += 10**6
        r = await send(c, order_request(p, bob, clock, SYMBOL[style], "BUY", "0.2", "31000"))
        buy = order_answer(style, r.status_code, r.json())
        assert buy.ok, r.text
        events = [e.record for e in s.venue.system.store.read(1)]
        trades = [e for e in events if isinstance(e, TradeExecuted)]
        assert len(trades) == 1 and trades[0].sell_account == "alice" and trades[0].buy_account == "bob"
        assert sum(isinstance(e, OrderAccepted) for e in events) == 2
        sell_state = s.venue.orders[trades[0].sell_order_id]
        assert sell_state.filled == Decimal("0.2") and sell_state.status == "PARTIALLY_FILLED"
        assert sell_state.fills[0].price in (Decimal("30000.1"), Decimal("30000.01"))
        # the resting remainder cancels; a second cancel is the venue's "unknown order"
        r = await send(c, cancel_request(p, alice, clock, SYMBOL[style], sell.order_id))
        assert r.status_code == 200, r.text
        assert s.venue.orders[trades[0].sell_order_id].status == "CANCELED"
        r = await send(c, cancel_request(p, alice, clock, SYMBOL[style], sell.order_id))
        if style == "binance":
            assert r.status_code == 400 and r.json() == {"code": -2011, "msg": "Unknown order sent."}
        elif style == "coinbase":
            assert r.status_code == 404 and r.json() == {"message": "NotFound"}
        else:
            assert (
                r.status_code == 200 and r.json()["code"] == "1" and r.json()["data"][0]["sCode"] == "51400"
            )

    run(style, t)


BINANCE_REFUSALS = [
    ("BTCUSDT", "1", "30000.005", -1013, "Filter failure: PRICE_FILTER"),
    ("BTCUSDT", "0.000011", "30000", -1013, "Filter failure: LOT_SIZE"),
    ("BTCUSDT", "0.0001", "10", -1013, "Filter failure: NOTIONAL"),
    ("DOGEUSDT", "1", "1", -1121, "Invalid symbol."),
    ("BTCUSDT", "1e3", "1", -1100, None),
]


@pytest.mark.parametrize(("symbol", "qty", "price", "code", "msg"), BINANCE_REFUSALS)
def test_binance_filter_failures_are_its_400_code_and_message(
    symbol: str, qty: str, price: str, code: int, msg: str | None
) -> None:
    """Off-tick, off-step, too-small and unknown-symbol orders get Binance's -1013/-1121/-1100."""

    async def t(c: httpx.AsyncClient, s: Served, clock: FixedClock) -> None:
        p = s.venue.profile
        r = await send(c, order_request(p, p.keys[0], clock, symbol, "BUY", qty, price))
        assert r.status_code == 400 and r.json()["code"] == code
        if msg:
            assert r.json()["msg"] == msg
        assert "X-MBX-USED-WEIGHT-1M" in r.headers
        assert not s.venue.orders  # nothing reached the engine

    run("binance", t)


@pytest.mark.parametrize(
    ("qty", "price", "message"),
    [
        ("1", "30000.001", "price is too accurate. Smallest unit is 0.01000000"),
        ("0.000000001", "30000", "size is too accurate. Smallest unit is 0.00000001"),
        ("0.000001", "30000", "size is too small. Minimum size is 0.00001000"),
        ("0.0001", "1", "funds is too small. Minimum funds is 1"),
    ],
)
def test_coinbase_precision_refusals_are_its_400_messages(qty: str, price: str, message: str) -> None:
    """Coinbase Exchange answers precision failures with 400 and its ``message`` wording."""

    async def t(c: httpx.AsyncClient, s: Served, clock: FixedClock) -> None:
        p = s.venue.profile
        r = await send(c, order_request(p, p.keys[0], clock, "BTC-USD", "BUY", qty, price))
        assert r.status_code == 400 and r.json() == {"message": message}

    run("coinbase", t)


@pytest.mark.parametrize(
    ("qty", "price", "s_code"),
    [("1", "30000.05", "51000"), ("0.000000001", "30000", "51121"), ("0.000001", "30000", "51020")],
)
def test_okx_order_failures_are_code_1_with_the_reason_in_data(qty: str, price: str, s_code: str) -> None:
    """OKX answers a failed order HTTP 200, ``code`` "1", and ``sCode``/``sMsg`` in ``data[0]``."""

    async def t(c: httpx.AsyncClient, s: Served, clock: FixedClock) -> None:
        p = s.venue.profile
        r = await send(c, order_request(p, p.keys[0], clock, "BTC-USDT", "BUY", qty, price))
        body = r.json()
        assert r.status_code == 200 and body["code"] == "1" and body["data"][0]["sCode"] == s_code

    run("okx", t)


def test_okx_lot_size_refusal_names_the_lot() -> None:
    """A quantity off okx-eea's ETH lot gets 51121 naming the lot size."""

    async def t(c: httpx.AsyncClient, s: Served, clock: FixedClock) -> None:
        p = s.venue.profile
        r = await send(c, order_request(p, p.keys[0], clock, "ETH-EUR", "BUY", "0.0010001", "2000"))
        d = r.json()["data"][0]
        assert d["sCode"] == "51121" and d["sMsg"].endswith("0.000001")

    run("okx-eea", t)


@pytest.mark.parametrize(
    ("style", "status", "check"),
    [
        ("binance", 400, lambda b: b == {"code": -1022, "msg": "Signature for this request is not valid."}),
        ("coinbase", 401, lambda b: b == {"message": "invalid signature"}),
        ("okx", 401, lambda b: b["code"] == "50113" and b["data"] == []),
    ],
)
def test_a_wrong_signature_is_refused_in_the_venues_words(style: str, status: int, check: object) -> None:
    """A request signed with another secret is refused, nothing logged."""

    async def t(c: httpx.AsyncClient, s: Served, clock: FixedClock) -> None:
        p = s.venue.profile
        alice, bob = p.keys
        forged = type(alice)(alice.key, bob.secret, alice.passphrase, alice.account)
        head = s.venue.system.store.head().seq
        r = await send(c, order_request(p, forged, clock, SYMBOL[style], "BUY", "1", "100"))
        assert r.status_code == status and check(r.json())  # type: ignore[operator]
        assert s.venue.system.store.head().seq == head

    run(style, t)


@pytest.mark.parametrize(
    ("style", "code"), [("binance", "-1021"), ("coinbase", "request timestamp expired"), ("okx", "50102")]
)
def test_a_request_signed_too_long_ago_in_virtual_time_is_stale(style: str, code: str) -> None:
    """Moving the virtual clock past the receive window makes a signed request stale."""

    async def t(c: httpx.AsyncClient, s: Served, clock: FixedClock) -> None:
        p = s.venue.profile
        req = order_request(p, p.keys[0], clock, SYMBOL[style], "BUY", "1", "100")
        clock.t += (p.recv_window_ms + 1_000) * 1_000_000
        r = await send(c, req)
        assert code in r.text and r.status_code in (400, 401)

    run(style, t)


def test_binance_rate_limit_429_with_retry_after_then_backs_off_in_virtual_time() -> None:
    """Past the weight limit Binance answers 429/-1003 with Retry-After; waiting that long works."""

    async def t(c: httpx.AsyncClient, s: Served, clock: FixedClock) -> None:
        p = s.venue.profile
        for i in range(1, 21):
            r = await send(c, prepare(p, None, clock, "GET", "/api/v3/ping"))
            assert r.status_code == 200 and r.headers["X-MBX-USED-WEIGHT-1M"] == str(i)
        r = await send(c, prepare(p, None, clock, "GET", "/api/v3/ping"))
        assert r.status_code == 429 and r.json()["code"] == -1003
        wait = int(r.headers["Retry-After"])
        assert 1 <= wait <= 60
        clock.t += wait * 10**9
        r = await send(c, prepare(p, None, clock, "GET", "/api/v3/ping"))
        assert r.status_code == 200 and r.headers["X-MBX-USED-WEIGHT-1M"] == "1"

    run("binance", t, rate_limit={"limit": 20, "window_s": 60})


@pytest.mark.parametrize(
    ("style", "status", "code"), [("coinbase", 429, "Private rate limit exceeded"), ("okx", 429, "50011")]
)
def test_coinbase_and_okx_rate_limits_answer_429_in_their_words(style: str, status: int, code: str) -> None:
    """The per-key window refuses the request past the limit with the venue's 429 body."""

    async def t(c: httpx.AsyncClient, s: Served, clock: FixedClock) -> None:
        p = s.venue.profile
        codes = []
        for _ in range(p.rate_limit + 1):
            r = await send(c, order_request(p, p.keys[0], clock, SYMBOL[style], "BUY", "0.01", "100"))
            codes.append(r.status_code)
        assert codes[:-1] == [200] * p.rate_limit and codes[-1] == status and code in r.text
        clock.t += p.window_s * 10**9
        r = await send(c, order_request(p, p.keys[0], clock, SYMBOL[style], "BUY", "0.01", "100"))
        assert r.status_code == 200

    run(style, t)


def test_binance_query_order_and_open_orders() -> None:
    """A resting order is found by id and listed open; an unknown id is -2013."""

    async def t(c: httpx.AsyncClient, s: Served, clock: FixedClock) -> None:
        p = s.venue.profile
        r = await send(
            c, order_request(p, p.keys[0], clock, "ETHUSDT", "BUY", "0.5", "2000", client_id="my-1")
        )
        oid = r.json()["orderId"]
        r = await send(
            c,
            prepare(
                p,
                p.keys[0],
                clock,
                "GET",
                "/api/v3/order",
                {"symbol": "ETHUSDT", "origClientOrderId": "my-1"},
            ),
        )
        assert r.json()["orderId"] == oid and r.json()["status"] == "NEW" and r.json()["isWorking"]
        r = await send(c, prepare(p, p.keys[0], clock, "GET", "/api/v3/openOrders", {"symbol": "ETHUSDT"}))
        assert [o["orderId"] for o in r.json()] == [oid]
        r = await send(
            c,
            prepare(p, p.keys[1], clock, "GET", "/api/v3/order", {"symbol": "ETHUSDT", "orderId": str(oid)}),
        )
        assert r.status_code == 400 and r.json()["code"] == -2013  # another account's order is not yours
        r = await send(
            c, prepare(p, None, clock, "GET", "/api/v3/depth", {"symbol": "ETHUSDT", "limit": "5"})
        )
        assert r.json()["bids"] == [["2000", "0.5"]] and r.json()["asks"] == []

    run("binance", t)


def test_binance_market_orders_fill_against_the_book_or_expire() -> None:
    """A market buy fills against resting sells (FILLED); with nothing left it EXPIREs, as Binance
    reports an unfilled market or IOC remainder, while a cancel someone asked for is CANCELED."""

    async def t(c: httpx.AsyncClient, s: Served, clock: FixedClock) -> None:
        p = s.venue.profile
        alice, bob = p.keys
        r = await send(c, order_request(p, alice, clock, "BTCUSDT", "SELL", "0.3", "30000"))
        assert r.json()["status"] == "NEW"
        r = await send(c, order_request(p, bob, clock, "BTCUSDT", "BUY", "0.3", None))
        got = r.json()
        assert r.status_code == 200 and got["type"] == "MARKET" and got["status"] == "FILLED", got
        assert got["fills"][0]["price"] == "30000" and got["cummulativeQuoteQty"] == "9000"
        r = await send(c, order_request(p, bob, clock, "BTCUSDT", "BUY", "0.3", None))
        assert r.status_code == 200 and r.json()["status"] == "EXPIRED" and r.json()["executedQty"] == "0"
        r = await send(c, order_request(p, alice, clock, "BTCUSDT", "SELL", "0.3", "31000"))
        oid = r.json()["orderId"]
        r = await send(c, cancel_request(p, alice, clock, "BTCUSDT", str(oid)))
        assert r.json()["status"] == "CANCELED"

    run("binance", t)
