"""Streams over a real socket: WebSocket and SSE, resumable from a seq. A client that disconnects,
misses a trade and reconnects from its last seq gets exactly what it missed: nothing twice,
nothing lost, in log order."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from system.gateways.rest import RestGateway
from system.gateways.rest.routes.streams import account_filter
from tests.integration.rest_kit import INST, KEYS, as_, order, served


@asynccontextmanager
async def live() -> AsyncIterator[tuple[httpx.AsyncClient, RestGateway]]:
    server, gw = served()
    await server.start()
    await gw.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gw.port}") as c:
            yield c, gw
    finally:
        await gw.stop()
        await server.stop()


def run(test: Callable[[httpx.AsyncClient, RestGateway], Awaitable[None]]) -> None:
    async def main() -> None:
        async with live() as (c, gw):
            await asyncio.wait_for(test(c, gw), 60)

    asyncio.run(main())


async def take(ws: Any, until: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    while True:
        m = json.loads(await asyncio.wait_for(ws.recv(), 10))
        got.append(m)
        if until(m):
            return got


def _missed(gw: RestGateway, account: str, after: int) -> list[int]:
    pick = account_filter(account)
    return [ev.seq for ev in gw.sequencer.store.read(after + 1) if pick(ev) is not None]


def test_websocket_resume_from_last_seq_misses_nothing_and_repeats_nothing() -> None:
    async def t(c: httpx.AsyncClient, gw: RestGateway) -> None:
        url = f"ws://127.0.0.1:{gw.port}/v1/streams/accounts/A"
        hdr = {"X-API-Key": KEYS["trader"]}
        async with connect(url + "?from_seq=0", additional_headers=hdr) as ws:
            r = await c.post("/v1/orders", json=order("A", "SELL", "100", "1000"), headers=as_("trader"))
            oid = r.json()["order_id"]
            first = await take(ws, lambda m: m["type"] == "OrderAccepted" and m["payload"]["order_id"] == oid)
        last = first[-1]["seq"]
        # Disconnected: A's order trades twice and A sends another order; B's own order is not A's.
        await c.post("/v1/orders", json=order("B", "BUY", "30", "1000"), headers=as_("other"))
        await c.post("/v1/orders", json=order("B", "BUY", "20", "1000"), headers=as_("other"))
        await c.post("/v1/orders", json=order("B", "BUY", "5", "900"), headers=as_("other"))
        r = await c.post("/v1/orders", json=order("A", "BUY", "1", "800"), headers=as_("trader"))
        last_oid = r.json()["order_id"]
        want = _missed(gw, "A", last)
        async with connect(f"{url}?from_seq={last}", additional_headers=hdr) as ws:
            again = await take(
                ws, lambda m: m["type"] == "OrderAccepted" and m["payload"]["order_id"] == last_oid
            )
            # Live entries keep coming after the catch-up, on the same connection.
            await c.delete(f"/v1/orders/{last_oid}", headers=as_("trader"))
            tail = await take(ws, lambda m: m["type"] == "OrderCancelled")
        seqs = [m["seq"] for m in again]
        assert seqs == want and seqs[0] > last
        assert [m["type"] for m in again] == ["TradeExecuted", "TradeExecuted", "OrderAccepted"]
        assert tail[-1]["seq"] > seqs[-1] and len(tail) == 1
        assert [m["seq"] for m in first] == sorted({m["seq"] for m in first})

    run(t)


def test_instrument_stream_blanks_other_accounts_for_a_trader() -> None:
    async def t(c: httpx.AsyncClient, gw: RestGateway) -> None:
        url = f"ws://127.0.0.1:{gw.port}/v1/streams/instruments/{INST}"
        async with connect(url, additional_headers={"X-API-Key": KEYS["other"]}) as ws:
            await c.post("/v1/orders", json=order("A", "SELL", "10", "1000"), headers=as_("trader"))
            await c.post("/v1/orders", json=order("B", "BUY", "10", "1000"), headers=as_("other"))
            got = await take(ws, lambda m: m["type"] == "TradeExecuted")
        acc = [m["payload"] for m in got if m["type"] == "OrderAccepted"]
        assert [a["account"] for a in acc] == [None, "B"]
        tr = got[-1]["payload"]
        assert (tr["buy_account"], tr["sell_account"]) == ("B", None)

    run(t)


def test_websocket_refuses_a_missing_key_and_anothers_account() -> None:
    async def t(c: httpx.AsyncClient, gw: RestGateway) -> None:
        url = f"ws://127.0.0.1:{gw.port}/v1/streams/accounts/A"
        for hdr in ({}, {"X-API-Key": KEYS["other"]}):
            with pytest.raises(InvalidStatus):
                async with connect(url, additional_headers=hdr) as ws:
                    await ws.recv()

    run(t)


def test_sse_resumes_from_last_event_id() -> None:
    async def t(c: httpx.AsyncClient, gw: RestGateway) -> None:
        await c.post("/v1/orders", json=order("A", "SELL", "10", "1000"), headers=as_("trader"))
        await c.post("/v1/orders", json=order("B", "BUY", "4", "1000"), headers=as_("other"))
        everything = _missed(gw, "A", 0)
        assert len(everything) == 2
        h = as_("trader") | {"Last-Event-ID": str(everything[0])}
        ids: list[int] = []
        async with c.stream("GET", "/v1/streams/accounts/A/sse", headers=h) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            async for line in r.aiter_lines():
                if line.startswith("id: "):
                    ids.append(int(line[4:]))
                    break
        assert ids == everything[1:]

    run(t)
