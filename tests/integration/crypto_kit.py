"""A crypto mock on an in-process ASGI transport, driven by a settable clock, for the tests."""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from mocks.base import MockContext
from mocks.crypto import PROFILES, served
from mocks.crypto.client import Prepared
from mocks.crypto.styles import build_app
from mocks.crypto.styles.common import Served
from system.clock import FixedClock

T0 = 1_925_424_000 * 10**9  # 2031-01-05 23:00 UTC
STYLE_VENUE = {"binance": "binance", "coinbase": "coinbase", "okx": "okx"}


def profile(name: str) -> dict[str, Any]:
    return tomllib.loads((PROFILES / f"{name}.toml").read_text())


def make(name: str, clock: FixedClock | None = None, **over: Any) -> tuple[Served, Any, FixedClock]:
    clock = clock or FixedClock(T0)
    s = served(MockContext(profile(name) | over, clock))
    return s, build_app(s), clock


async def send(c: httpx.AsyncClient, p: Prepared) -> httpx.Response:
    return await c.request(p.method, p.target, headers=p.headers, content=p.body or None)


def run(
    name: str, test: Callable[[httpx.AsyncClient, Served, FixedClock], Awaitable[None]], **over: Any
) -> None:
    async def main() -> None:
        s, app, clock = make(name, **over)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock") as c:
            await test(c, s, clock)

    asyncio.run(main())
