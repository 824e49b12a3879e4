"""A served system with the REST gateway, in this process, for the REST tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from chronex.commands.serve import ServedWorld, WorldHost
from system.bootstrap import SystemConfig
from system.engine.testkit import instrument
from system.gateways.rest import ApiKey, KeyRing, RestGateway, Role
from system.gateways.rest.app import build_app
from system.server.clockmode import ClockMode
from system.server.server import Server

T0 = 1_925_424_000 * 10**9  # 2031-01-06 09:00 JST
INST = "XTKS:7203"

KEYS = {
    "trader": "k-trader",  # accounts A and A2
    "other": "k-other",  # account B
    "qa-admin": "k-admin",
    "auditor": "k-audit",
}
RING = KeyRing(
    [
        ApiKey(KEYS["trader"], "alice", Role.TRADER, ("A", "A2")),
        ApiKey(KEYS["other"], "bob", Role.TRADER, ("B",)),
        ApiKey(KEYS["qa-admin"], "qa", Role.QA_ADMIN),
        ApiKey(KEYS["auditor"], "audit", Role.AUDITOR),
    ]
)
RISK = {"accounts": {"A": {"currency": "JPY", "balances": {"JPY": "100000000"}}}}


def served(*, risk: Any = RISK, log: str = "memory://") -> tuple[Server, RestGateway]:
    cfg = SystemConfig(instruments=(instrument(INST, price_increment="0.5"),), risk=risk)
    world = ServedWorld(cfg, start_ns=T0, log=log, sessions=False)
    server = Server(WorldHost(world), ClockMode(world.clock))
    return server, RestGateway(server, RING)


@asynccontextmanager
async def client(risk: Any = RISK) -> AsyncIterator[tuple[httpx.AsyncClient, RestGateway]]:
    """An httpx client on the ASGI app, the sequencer running on this loop."""
    server, gw = served(risk=risk)
    await server.start()
    transport = httpx.ASGITransport(app=build_app(gw))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://rest") as c:
            yield c, gw
    finally:
        await server.stop()


@asynccontextmanager
async def listening(*, thread: bool) -> AsyncIterator[RestGateway]:
    """The gateway serving HTTP on a loopback port (uvicorn on its own thread or on this loop)."""
    server, gw = served()
    await server.start()
    await gw.start(thread=thread)
    try:
        yield gw
    finally:
        await gw.stop()
        await server.stop()


def as_(role: str) -> dict[str, str]:
    return {"X-API-Key": KEYS[role]}


def run(test: Callable[[httpx.AsyncClient, RestGateway], Awaitable[None]], risk: Any = RISK) -> None:
    async def main() -> None:
        async with client(risk) as (c, gw):
            await test(c, gw)

    asyncio.run(main())


def order(
    account: str = "A", side: str = "BUY", qty: str = "100", price: str | None = "1000", **kw: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"account": account, "instrument": INST, "side": side, "qty": qty, **kw}
    if price is not None:
        body["price"] = price
    return body
