"""The REST gateway's query side: hot queries answered from read models of its own, fed from the
log through the subscription seam, give exactly the FastAPI application's answers; everything
else (problems included) is the application's; served, the query side lives on the REST thread
and a client still reads its own writes."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from system.gateways.rest.app import build_app
from system.gateways.rest.front import Front
from system.gateways.rest.gateway import _switch
from tests.integration.rest_kit import INST, KEYS, as_, order, served

HOT = [
    f"/v1/books/{INST}/l1",
    f"/v1/books/{INST}/l2",
    f"/v1/books/{INST}/l2?depth=1",
    "/v1/accounts/A/positions",
    "/v1/accounts/B/positions",
]

orders = st.lists(
    st.tuples(
        st.sampled_from([("A", "trader"), ("B", "other")]),
        st.sampled_from(["BUY", "SELL"]),
        st.integers(1, 30).map(lambda n: str(n * 5)),
        st.sampled_from(["999", "999.5", "1000", "1000.5", "1001"]),
    ),
    max_size=12,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders)
def test_hot_queries_answer_byte_for_byte_as_the_application(
    flow: list[tuple[tuple[str, str], str, str, str]],
) -> None:
    """After any order flow, every role's L1, L2 and positions answers from the query side equal
    the FastAPI application's, status and body bytes alike, and the query side did answer them."""

    async def main() -> None:
        server, gw = served()
        await server.start()
        app = build_app(gw)
        front = Front(app, gw.keys, lambda: gw.query, None)
        try:
            async with (
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a") as direct,
                httpx.AsyncClient(transport=httpx.ASGITransport(app=front), base_url="http://f") as fast,
            ):
                for (account, role), side, qty, price in flow:
                    await direct.post("/v1/orders", json=order(account, side, qty, price), headers=as_(role))
                assert gw.query.position == server.sequencer.store.head().seq
                for role in KEYS:
                    for path in HOT:
                        want = await direct.get(path, headers=as_(role))
                        got = await fast.get(path, headers=as_(role))
                        assert (got.status_code, got.content) == (want.status_code, want.content), (
                            role,
                            path,
                        )
                        assert got.headers["content-type"] == want.headers["content-type"]
            # A trader's positions of another account are the application's 403 (4 of 20 each).
            assert front.served_here == len(KEYS) * len(HOT) - 2
        finally:
            await server.stop()

    asyncio.run(main())


def test_problems_and_other_queries_are_the_applications() -> None:
    """A missing or unknown key, another's account, an unknown instrument and a bad depth get the
    application's problem+json through the front; a query the side does not serve passes too."""

    async def main() -> None:
        server, gw = served()
        await server.start()
        front = Front(build_app(gw), gw.keys, lambda: gw.query, None)
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=front), base_url="http://f") as c:
                assert (await c.get(f"/v1/books/{INST}/l2")).status_code == 401
                assert (await c.get(f"/v1/books/{INST}/l2", headers={"X-API-Key": "nope"})).status_code == 401
                assert (await c.get("/v1/accounts/B/positions", headers=as_("trader"))).status_code == 403
                r = await c.get("/v1/books/XTKS:9999/l2", headers=as_("trader"))
                assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
                for bad in ("0", "1001", "x"):
                    r = await c.get(f"/v1/books/{INST}/l2?depth={bad}", headers=as_("trader"))
                    assert r.status_code == 422, bad
                assert (await c.get(f"/v1/books/{INST}/l3", headers=as_("trader"))).status_code == 200
            assert front.served_here == 0
        finally:
            await server.stop()

    asyncio.run(main())


def test_served_queries_run_on_the_rest_thread_and_read_their_own_writes() -> None:
    """Served, the query side folds on the REST thread; an order's 201 is never ahead of the book a
    query then reads, and stopping hands the side back caught up to the log's head."""

    async def main() -> None:
        server, gw = served()
        await server.start()
        await gw.start(thread=True)
        try:
            assert gw._thread is not None and gw._thread is not threading.current_thread()
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gw.port}", timeout=30) as c:
                for i in range(20):
                    price = str(900 + i)
                    r = await c.post("/v1/orders", json=order("A", "BUY", "5", price), headers=as_("trader"))
                    assert r.status_code == 201
                    l1 = (await c.get(f"/v1/books/{INST}/l1", headers=as_("auditor"))).json()
                    assert (l1["bid"], l1["seq"]) == (price, r.json()["seq"] + len(r.json()["events"]))
                await c.post("/v1/orders", json=order("B", "SELL", "5", "919"), headers=as_("other"))
                pos = (await c.get("/v1/accounts/A/positions", headers=as_("trader"))).json()
                assert [(p["qty"], p["avg_price"]) for p in pos] == [("5", "919")]
            assert gw._uvicorn is not None and gw._uvicorn.config.app.served_here == 21
        finally:
            await gw.stop()
            await server.stop()
        assert gw.query.position == server.sequencer.store.head().seq

    asyncio.run(main())


@pytest.mark.parametrize("name", ["CHRONEX_REST_THREAD", "CHRONEX_REST_HOTPATH"])
def test_the_switches_name_a_bad_value(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """CHRONEX_REST_THREAD and CHRONEX_REST_HOTPATH take 0 or 1 (1 when unset); anything else is
    refused with the setting and the value named."""
    monkeypatch.delenv(name, raising=False)
    assert _switch(name)
    monkeypatch.setenv(name, "0")
    assert not _switch(name)
    monkeypatch.setenv(name, "yes")
    with pytest.raises(ValueError, match=f"{name} must be 0 or 1, got 'yes'"):
        _switch(name)
