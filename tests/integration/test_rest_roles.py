"""Authorization over REST: every endpoint x every role. Without a key or with an unknown one: 401;
a role the endpoint does not admit: 403; a trader reaching another account: 403 (an order id of
another account: 404, so its existence does not leak). Every refusal is problem+json."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.routing import APIWebSocketRoute

from system.gateways.rest import RestGateway
from system.gateways.rest.app import build_app
from system.gateways.rest.routes import streams
from tests.integration.rest_kit import INST, as_, order, run, served

ALL = {"trader", "qa-admin", "auditor", "other"}
OWNERS = {"trader", "qa-admin"}  # act on account A
READERS = {"trader", "qa-admin", "auditor"}  # see account A
ADMIN = {"qa-admin"}
AUDIT = {"qa-admin", "auditor"}

# (method, path, body, roles admitted). {oid}: a resting order of account A.
MATRIX: list[tuple[str, str, dict[str, Any] | None, set[str]]] = [
    ("POST", "/v1/orders", order("A"), OWNERS),
    ("GET", "/v1/orders?account=A", None, READERS),
    ("GET", "/v1/orders/{oid}", None, READERS),
    ("PATCH", "/v1/orders/{oid}", {"qty": "90"}, OWNERS),
    ("DELETE", "/v1/orders/{oid2}", None, OWNERS),
    ("POST", "/v1/orders/mass-cancel", {"account": "A", "instrument": INST}, OWNERS),
    ("GET", "/v1/instruments", None, ALL),
    ("GET", f"/v1/books/{INST}/l1", None, ALL),
    ("GET", f"/v1/books/{INST}/l2", None, ALL),
    ("GET", f"/v1/books/{INST}/l3", None, ALL),
    ("GET", "/v1/trades?account=A", None, READERS),
    ("GET", f"/v1/trades?instrument={INST}", None, ALL),
    ("GET", f"/v1/bars/{INST}", None, ALL),
    ("GET", "/v1/venues", None, ALL),
    ("GET", "/v1/venues/XTKS/calendar", None, ALL),
    ("GET", "/v1/accounts/A/positions", None, READERS),
    ("GET", "/v1/accounts/A/balances", None, READERS),
    ("GET", "/v1/accounts/A/pnl", None, READERS),
    ("GET", "/v1/accounts/A/margin", None, READERS),
    ("GET", "/v1/accounts/A/events", None, READERS),
    ("GET", "/v1/clock", None, ALL),
    ("POST", "/v1/clock", {"op": "advance", "seconds": "1"}, ADMIN),
    ("POST", "/v1/venues/XTKS/halt", {}, ADMIN),
    ("POST", "/v1/venues/XTKS/resume", {}, ADMIN),
    ("POST", "/v1/kill-switch", {"account": "B", "engage": False}, ADMIN),
    ("GET", "/v1/audit/head", None, AUDIT),
    ("GET", "/v1/audit/verify", None, AUDIT),
    ("GET", "/v1/audit/as-of?at=2031-01-06T00:00:00Z", None, AUDIT),
    # Streams: the refusals here; the admitted roles stream in test_rest_streams.
    ("GET", "/v1/streams/accounts/A/sse", None, set()),
    ("GET", f"/v1/streams/instruments/{INST}/sse", None, set()),
]
STREAMS_ADMIT = {"/v1/streams/accounts/A/sse": READERS, f"/v1/streams/instruments/{INST}/sse": ALL}


def _template(path: str) -> str:
    return path.split("?")[0].replace("{oid}", "{order_id}").replace("{oid2}", "{order_id}")


def test_the_matrix_covers_every_endpoint() -> None:
    _, gw = served()
    app = build_app(gw)
    routes = {(m.upper(), path) for path, ops in app.openapi()["paths"].items() for m in ops}
    covered = set()
    for method, path, _, _ in MATRIX:
        p = (
            _template(path)
            .replace(INST, "{instrument}")
            .replace("/A/", "/{account}/")
            .replace("XTKS", "{venue}")
        )
        covered.add((method, p))
    assert routes == covered
    ws = {r.path for r in streams.router.routes if isinstance(r, APIWebSocketRoute)}
    assert ws == {"/v1/streams/accounts/{account}", "/v1/streams/instruments/{instrument:path}"}


@pytest.mark.parametrize("role", sorted(ALL))
def test_every_endpoint_for_role(role: str) -> None:
    async def t(c: httpx.AsyncClient, gw: RestGateway) -> None:
        seed = as_("qa-admin")
        for i in range(len(MATRIX)):
            await c.post(
                "/v1/orders", json=order("A", price=str(900 + i)), headers=seed | {"Idempotency-Key": f"s{i}"}
            )
        ids = sorted(gw.model.orders)
        for i, (method, path, body, admitted) in enumerate(MATRIX):
            url = path.format(oid=ids[0], oid2=ids[i])
            if role in STREAMS_ADMIT.get(path, set()):
                continue  # admitted to a stream: it would stream forever here (test_rest_streams)
            r = await c.request(method, url, json=body, headers=as_(role))
            if role in admitted:
                assert r.status_code not in (401, 403), (role, method, url, r.text)
                assert r.status_code < 500
            elif role == "other" and "{oid" in path:
                assert r.status_code == 404, (role, method, url, r.text)
            else:
                assert r.status_code == 403, (role, method, url, r.text)
                assert r.headers["content-type"] == "application/problem+json"
                assert "may not" in r.json()["detail"] or "is not one of" in r.json()["detail"]

    run(t)


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "nobody"}])
def test_every_endpoint_needs_a_known_key(headers: dict[str, str]) -> None:
    async def t(c: httpx.AsyncClient, gw: RestGateway) -> None:
        for method, path, body, _ in MATRIX:
            r = await c.request(method, path.format(oid=1, oid2=1), json=body, headers=headers)
            assert r.status_code == 401, (method, path, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            assert "API key" in r.json()["detail"]

    run(t)


def test_a_trader_never_sees_another_accounts_orders_or_positions() -> None:
    async def t(c: httpx.AsyncClient, gw: RestGateway) -> None:
        await c.post("/v1/orders", json=order("A", "SELL", price="1000"), headers=as_("trader"))
        await c.post("/v1/orders", json=order("B", "BUY", price="1000"), headers=as_("other"))
        assert (await c.get("/v1/orders", params={"account": "A"}, headers=as_("other"))).status_code == 403
        assert (await c.get("/v1/accounts/A/positions", headers=as_("other"))).status_code == 403
        tr = (await c.get("/v1/trades", params={"instrument": INST}, headers=as_("other"))).json()
        assert tr and tr[0]["buy_account"] == "B" and tr[0]["sell_account"] is None
        l3 = (await c.post("/v1/orders", json=order("A", price="990"), headers=as_("trader"))).json()
        book = (await c.get(f"/v1/books/{INST}/l3", headers=as_("other"))).json()
        assert [o["account"] for o in book["bids"]] == [None]
        book = (await c.get(f"/v1/books/{INST}/l3", headers=as_("trader"))).json()
        assert [o["order_id"] for o in book["bids"] if o["account"] == "A"] == [l3["order_id"]]

    run(t)
