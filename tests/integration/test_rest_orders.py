"""Orders over REST: submit with every option, cancel, replace, status, mass cancel, the
Idempotency-Key (a retry gets the same answer, another body under the key a 409), decimals on
the wire, and problem+json for what is refused."""

from __future__ import annotations

import httpx

from system.gateways.rest import RestGateway
from tests.integration.rest_kit import INST, as_, order, run

PROBLEM = "application/problem+json"


def test_submit_rests_then_trades_and_both_orders_say_so() -> None:
    """A resting order is NEW; a crossing one fills it and both report FILLED at the decimal price."""

    async def t(c: httpx.AsyncClient, gw: RestGateway) -> None:
        r = await c.post("/v1/orders", json=order("A", "SELL", "100", "1000.5"), headers=as_("trader"))
        assert r.status_code == 201, r.text
        sell = r.json()
        assert sell["status"] == "NEW" and sell["events"][0]["type"] == "OrderAccepted"
        assert sell["events"][0]["payload"]["price"] == 2001  # integer units inside (tick 0.5)
        r = await c.post("/v1/orders", json=order("B", "BUY", "100", "1001"), headers=as_("other"))
        assert r.status_code == 201 and r.json()["status"] == "FILLED"
        got = (await c.get(f"/v1/orders/{sell['order_id']}", headers=as_("trader"))).json()
        assert got["status"] == "FILLED" and got["filled"] == "100" and got["avg_price"] == "1000.5"
        assert got["leaves"] == "0" and got["price"] == "1000.5"

    run(t)


def test_idempotency_key_retry_returns_the_same_answer_and_logs_once() -> None:
    async def t(c: httpx.AsyncClient, gw: RestGateway) -> None:
        h = as_("trader") | {"Idempotency-Key": "order-1"}
        first = await c.post("/v1/orders", json=order(), headers=h)
        head = gw.sequencer.store.head().seq
        again = await c.post("/v1/orders", json=order(), headers=h)
        assert first.status_code == again.status_code == 201
        a, b = first.json(), again.json()
        assert b["duplicate"] and not a["duplicate"]
        assert a["events"] == b["events"] and a["order_id"] == b["order_id"] and a["seq"] == b["seq"]
        assert gw.sequencer.store.head().seq == head  # nothing logged for the retry
        assert a["events"][0]["payload"]["client_order_id"] == "order-1"

    run(t)


def test_idempotency_key_with_another_body_is_a_409_and_nothing_is_logged() -> None:
    async def t(c: httpx.AsyncClient, gw: RestGateway) -> None:
        h = as_("trader") | {"Idempotency-Key": "k1"}
        assert (await c.post("/v1/orders", json=order(qty="100"), headers=h)).status_code == 201
        head = gw.sequencer.store.head().seq
        r = await c.post("/v1/orders", json=order(qty="200"), headers=h)
        assert r.status_code == 409 and r.headers["content-type"] == PROBLEM
        assert "already used for a different command" in r.json()["detail"]
        assert gw.sequencer.store.head().seq == head

    run(t)


def test_keys_are_scoped_per_session() -> None:
    """Two clients may use the same Idempotency-Key: each is its own command."""

    async def t(c: httpx.AsyncClient, gw: RestGateway) -> None:
        a = await c.post("/v1/orders", json=order("A"), headers=as_("trader") | {"Idempotency-Key": "x"})
        b = await c.post("/v1/orders", json=order("B"), headers=as_("other") | {"Idempotency-Key": "x"})
        assert a.status_code == b.status_code == 201
        assert a.json()["order_id"] != b.json()["order_id"] and not b.json()["duplicate"]

    run(t)


def test_every_order_type_and_option_reaches_the_engine() -> None:
    async def t(c: httpx.AsyncClient, gw: RestGateway) -> None:
        h = as_("trader")
        bodies = [
            order(tif="GTC", post_only=True, stp="CANCEL_OLDEST", client_order_id="c1"),
            order(price="999", display_qty="10", qty="100", tif="GTD", expire_time="2031-01-06T05:00:00Z"),
            order(side="SELL", price=None, order_type="STOP", stop_price="900"),
            order(side="SELL", price="899", order_type="STOP_LIMIT", stop_price="900", tif="DAY"),
            order(side="BUY", price=None, order_type="MARKET", tif="IOC", qty="1"),
        ]
        for body in bodies:
            r = await c.post("/v1/orders", json=body, headers=h)
            assert r.status_code in (201, 422), r.text
        kinds = {(o.order_type, o.tif) for o in gw.model.orders.values()}
        assert {("LIMIT", "GTC"), ("LIMIT", "GTD"), ("STOP", "DAY"), ("STOP_LIMIT", "DAY")} <= kinds

    run(t)


def test_engine_rejection_is_a_422_problem_with_the_reason_and_is_logged() -> None:
    async def t(c: httpx.AsyncClient, gw: RestGateway) -> None:
        r = await c.post("/v1/orders", json=order(order_type="LIMIT", price=None), headers=as_("trader"))
        assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
        p = r.json()
        assert p["reason"] and p["seq"] > 0 and p["status"] == 422

    run(t)


def test_off_increment_price_is_refused_at_the_edge_unlogged() -> None:
    async def t(c: httpx.AsyncClient, gw: RestGateway) -> None:
        head = gw.sequencer.store.head().seq
        r = await c.post("/v1/orders", json=order(price="1000.25"), headers=as_("trader"))
        assert r.status_code == 422
        assert r.json()["detail"] == f"price 1000.25 is not a multiple of increment 0.5 for {INST}"
        assert gw.sequencer.store.head().seq == head

    run(t)


def test_cancel_replace_and_mass_cancel() -> None:
    async def t(c: httpx.AsyncClient, gw: RestGateway) -> None:
        h = as_("trader")
        ids = [
            (await c.post("/v1/orders", json=order(price=p), headers=h)).json()["order_id"]
            for p in ("990", "991", "992")
        ]
        r = await c.patch(f"/v1/orders/{ids[0]}", json={"price": "995", "qty": "50"}, headers=h)
        assert r.status_code == 200 and r.json()["events"][0]["type"] == "OrderReplaced"
        st = (await c.get(f"/v1/orders/{ids[0]}", headers=h)).json()
        assert st["price"] == "995" and st["qty"] == "50"
        r = await c.delete(f"/v1/orders/{ids[1]}", headers=h)
        assert r.status_code == 200 and r.json()["events"][0]["type"] == "OrderCancelled"
        r = await c.delete(f"/v1/orders/{ids[1]}", headers=h)
        assert r.status_code == 409 and r.json()["reason"] == "ORDER_CLOSED"
        r = await c.post("/v1/orders/mass-cancel", json={"account": "A"}, headers=h)
        assert r.status_code == 200
        assert sorted(
            e["payload"]["order_id"] for e in r.json()["events"] if e["type"] == "OrderCancelled"
        ) == [ids[0], ids[2]]
        open_ = (await c.get("/v1/orders", params={"account": "A", "open": True}, headers=h)).json()
        assert open_ == []

    run(t)


def test_bad_input_is_4xx_problem_json_never_500() -> None:
    async def t(c: httpx.AsyncClient, gw: RestGateway) -> None:
        h = as_("trader")
        cases = [
            (
                "post",
                "/v1/orders",
                {"content": b"{not json", "headers": h | {"content-type": "application/json"}},
                400,
            ),
            ("post", "/v1/orders", {"json": order(side="SIDEWAYS"), "headers": h}, 422),
            ("post", "/v1/orders", {"json": order(qty="-1"), "headers": h}, 422),
            ("post", "/v1/orders", {"json": order(qty="1e999999"), "headers": h}, 422),
            ("post", "/v1/orders", {"json": {**order(), "instrument": "XTKS:9999"}, "headers": h}, 404),
            ("get", "/v1/orders/424242", {"headers": h}, 404),
            ("patch", "/v1/orders/1", {"json": {}, "headers": h}, 404),
            ("get", "/v1/books/NOPE/l2", {"headers": h}, 404),
        ]
        for method, path, kw, want in cases:
            r = await getattr(c, method)(path, **kw)
            assert r.status_code == want, (path, kw, r.text)
            assert r.headers["content-type"] == PROBLEM
            assert r.json()["detail"]

    run(t)
