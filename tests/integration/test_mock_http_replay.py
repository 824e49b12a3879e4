"""`chronex mock NAME --replay LOG` for the HTTP mocks: the recorded answers are served back to the
same requests, in order; a request the recording does not hold is a 404 saying so."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from mocks.base import MockContext, MockError
from mocks.crypto import served
from mocks.crypto.client import Prepared, order_request
from mocks.crypto.styles import build_app
from mocks.httpreplay import exchanges, serve_http_replay
from mocks.recording import LogRecorder, Traffic, read_traffic
from system.clock import FixedClock
from tests.integration.crypto_kit import T0, profile


def record_binance(log: Path) -> list[tuple[Prepared, int, bytes]]:
    """Three orders (one refused) through the binance mock, recorded into ``log``; what was sent
    and what came back."""
    clock = FixedClock(T0)
    rec = LogRecorder(str(log), clock)
    s = served(MockContext(profile("binance"), clock, record=rec))
    p = s.venue.profile
    sent = [
        order_request(p, p.keys[0], clock, "BTCUSDT", "BUY", "0.2", "31000"),
        order_request(p, p.keys[0], clock, "BTCUSDT", "SELL", "0.1", "31000"),
        order_request(p, p.keys[0], clock, "BTCUSDT", "BUY", "0.2", "31000.001"),  # off tick: -1013
    ]

    async def main() -> list[tuple[Prepared, int, bytes]]:
        out = []
        transport = httpx.ASGITransport(app=build_app(s))
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as c:
            for req in sent:
                r = await c.request(req.method, req.target, headers=req.headers, content=req.body or None)
                out.append((req, r.status_code, r.content))
        return out

    got = asyncio.run(main())
    rec.close()
    return got


def test_the_same_requests_get_the_recorded_answers_and_others_a_404(tmp_path: Path) -> None:
    log = tmp_path / "binance.db"
    recorded = record_binance(log)
    assert [status for _, status, _ in recorded] == [200, 200, 400]
    played = exchanges(read_traffic(str(log), "binance", FixedClock(0)))

    async def main() -> int:
        port: list[int] = []
        stop = asyncio.Event()
        server = asyncio.ensure_future(serve_http_replay(played, ready=port.append, stop=stop))
        while not port:
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port[0]}", timeout=30) as c:
            r = await c.get("/api/v3/account")
            assert r.status_code == 404 and r.json()["error"] == "not in the recording"
            for req, status, body in recorded:
                r = await c.request(req.method, req.target, headers=req.headers, content=req.body or None)
                assert (r.status_code, r.content) == (status, body)
        return await server  # every recorded answer given: the replay ends by itself

    assert asyncio.run(main()) == 3


def test_a_recording_without_http_answers_is_refused() -> None:
    only_ledger = [Traffic("ledger", "out", b'{"event": "approved"}', T0)]
    with pytest.raises(MockError, match="no HTTP request answered"):
        exchanges(only_ledger)
