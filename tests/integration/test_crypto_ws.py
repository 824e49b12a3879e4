"""Each crypto style on a real socket: the mock starts on a free port, its WebSocket feeds
stream trades and the account's executions in the venue's message shapes, and it stops cleanly."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets

from mocks.base import MockContext
from mocks.crypto import CryptoMock, signing
from mocks.crypto.client import order_request, prepare
from system.clock import FixedClock
from tests.integration.crypto_kit import T0, profile

TIMEOUT = 20  # generous: a loaded 2-core machine


async def _next(ws: Any, pred: Any) -> dict[str, Any]:
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        if pred(msg):
            return msg  # type: ignore[no-any-return]


async def _orders(mock: CryptoMock, clock: FixedClock, symbol: str, sell: str, buy: str) -> None:
    p = mock.served.venue.profile
    async with httpx.AsyncClient(base_url=mock.endpoints()["rest"], timeout=TIMEOUT) as c:
        for key, side, px in ((p.keys[0], "SELL", sell), (p.keys[1], "BUY", buy)):
            req = order_request(p, key, clock, symbol, side, "0.5", px)
            r = await c.request(req.method, req.target, headers=req.headers, content=req.body or None)
            assert r.status_code == 200, r.text


def _run(name: str, body: Any) -> list[tuple[str, str, bytes]]:
    clock = FixedClock(T0)
    log: list[tuple[str, str, bytes]] = []
    mock = CryptoMock(
        MockContext(profile(name), clock, record=lambda m, link, d, p: log.append((link, d, p)))
    )

    async def main() -> None:
        await mock.start()
        try:
            await asyncio.wait_for(body(mock, clock), 60)
        finally:
            await mock.stop()

    asyncio.run(main())
    return log


def test_binance_trade_stream_and_user_data_stream() -> None:
    """``btcusdt@trade`` carries the print; the seller's listenKey stream its executionReports."""

    async def body(mock: CryptoMock, clock: FixedClock) -> None:
        p = mock.served.venue.profile
        base = mock.endpoints()["ws"]
        async with httpx.AsyncClient(base_url=mock.endpoints()["rest"], timeout=TIMEOUT) as c:
            req = prepare(p, None, clock, "POST", "/api/v3/userDataStream")
            r = await c.post(req.target, headers={"X-MBX-APIKEY": p.keys[0].key})
            key = r.json()["listenKey"]
        async with (
            websockets.connect(base + "btcusdt@trade") as trades,
            websockets.connect(base + key) as user,
        ):
            await _orders(mock, clock, "BTCUSDT", "30000.01", "30001")
            t = await _next(trades, lambda m: m.get("e") == "trade")
            assert (t["s"], t["p"], t["q"], t["m"]) == ("BTCUSDT", "30000.01", "0.5", False)
            new = await _next(user, lambda m: m.get("x") == "NEW")
            fill = await _next(user, lambda m: m.get("x") == "TRADE")
            assert (
                new["S"] == "SELL" and fill["X"] == "FILLED" and fill["L"] == "30000.01" and fill["m"] is True
            )

    log = _run("binance", body)
    assert any(d == "in" and b"POST /api/v3/order" in p for _, d, p in log)
    assert any(link.startswith("ws:") and d == "out" and b"executionReport" in p for link, d, p in log)


def test_coinbase_matches_and_signed_user_channel() -> None:
    """``matches`` carries the trade; the signed ``user`` channel received/open/match/done."""

    async def body(mock: CryptoMock, clock: FixedClock) -> None:
        p = mock.served.venue.profile
        k = p.keys[0]
        ts = str(clock.t // 10**9)
        sub = {"type": "subscribe", "product_ids": ["BTC-USD"], "channels": ["matches", "user"], "key": k.key,
               "passphrase": k.passphrase, "timestamp": ts,
               "signature": signing.coinbase(k.secret, ts, "GET", "/users/self/verify")}  # fmt: skip
        async with websockets.connect(mock.endpoints()["ws"]) as ws:
            await ws.send(json.dumps(sub))
            ack = await _next(ws, lambda m: True)
            assert ack["type"] == "subscriptions"
            await _orders(mock, clock, "BTC-USD", "30000.01", "30001")
            kinds = []
            while "done" not in kinds:
                kinds.append(
                    (await _next(ws, lambda m: m.get("type") != "match" or "liquidity" in m))["type"]
                )
            assert kinds[:2] == ["received", "open"] and "match" in kinds
        async with websockets.connect(mock.endpoints()["ws"]) as ws:
            await ws.send(json.dumps(sub | {"signature": "AAAA"}))
            err = await _next(ws, lambda m: True)
            assert err["type"] == "error" and err["message"] == "Authentication Failed"

    _run("coinbase", body)


def test_okx_public_trades_and_private_orders_after_login() -> None:
    """``trades`` on the public socket; ``orders`` on the private one only after a signed login."""

    async def body(mock: CryptoMock, clock: FixedClock) -> None:
        p = mock.served.venue.profile
        k = p.keys[0]
        rest = mock.endpoints()["rest"].replace("http", "ws")
        async with (
            websockets.connect(mock.endpoints()["ws"]) as pub,
            websockets.connect(rest + "/ws/v5/private") as prv,
        ):
            await pub.send(
                json.dumps({"op": "subscribe", "args": [{"channel": "trades", "instId": "BTC-USDT"}]})
            )
            assert (await _next(pub, lambda m: True))["event"] == "subscribe"
            await prv.send(
                json.dumps({"op": "subscribe", "args": [{"channel": "orders", "instType": "SPOT"}]})
            )
            assert (await _next(prv, lambda m: True))["code"] == "60011"
            ts = str(clock.t // 10**9)
            login = {"apiKey": k.key, "passphrase": k.passphrase, "timestamp": ts,
                     "sign": signing.okx(k.secret, ts, "GET", "/users/self/verify")}  # fmt: skip
            await prv.send(json.dumps({"op": "login", "args": [login]}))
            assert (await _next(prv, lambda m: True)) == {"event": "login", "code": "0", "msg": ""}
            await prv.send(
                json.dumps({"op": "subscribe", "args": [{"channel": "orders", "instType": "SPOT"}]})
            )
            assert (await _next(prv, lambda m: True))["event"] == "subscribe"
            await _orders(mock, clock, "BTC-USDT", "30000.1", "30001")
            t = await _next(pub, lambda m: m.get("arg", {}).get("channel") == "trades")
            assert t["data"][0]["px"] == "30000.1" and t["data"][0]["side"] == "buy"
            filled = await _next(prv, lambda m: m.get("data", [{}])[0].get("state") == "filled")
            assert filled["data"][0]["fillPx"] == "30000.1" and filled["data"][0]["execType"] == "M"

    _run("okx", body)


@pytest.mark.parametrize("name", ["binance", "okx"])
def test_a_busy_port_is_a_mock_error_naming_the_mock(name: str) -> None:
    """Starting on a port in use is a MockError, not a traceback."""
    from mocks.base import MockError

    async def main() -> None:
        first = CryptoMock(MockContext(profile(name), FixedClock(T0)))
        await first.start()
        try:
            second = CryptoMock(MockContext(profile(name), FixedClock(T0), port=first.http.port))
            with pytest.raises(MockError, match=name):
                await second.start()
        finally:
            await first.stop()

    asyncio.run(main())
