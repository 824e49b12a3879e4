"""Read-model queries over REST: books, trades by instrument/account/time, positions, balances,
P&L, margin, bars, account events, venues and calendars, the clock, halt/resume, the kill switch,
and the auditor's as-of state and log verification."""

from __future__ import annotations

import httpx

from system.gateways.rest import RestGateway
from tests.integration.rest_kit import INST, as_, order, run

ADMIN = as_("qa-admin")


async def _trade(c: httpx.AsyncClient, qty: str = "40") -> None:
    await c.post("/v1/orders", json=order("A", "SELL", "100", "1000"), headers=as_("trader"))
    await c.post("/v1/orders", json=order("B", "BUY", qty, "1000"), headers=as_("other"))


def test_books_l1_l2_l3_follow_the_orders() -> None:
    async def t(c: httpx.AsyncClient, gw: RestGateway) -> None:
        await _trade(c)
        await c.post("/v1/orders", json=order("A", "BUY", "5", "999.5"), headers=as_("trader"))
        l1 = (await c.get(f"/v1/books/{INST}/l1", headers=ADMIN)).json()
        assert (l1["bid"], l1["bid_qty"], l1["ask"], l1["ask_qty"]) == ("999.5", "5", "1000", "60")
        l2 = (await c.get(f"/v1/books/{INST}/l2", params={"depth": 1}, headers=ADMIN)).json()
        assert (
            l2["asks"] == [{"price": "1000", "qty": "60", "count": 1}] and l2["seq"] == gw.marketdata.position
        )
        l3 = (await c.get(f"/v1/books/{INST}/l3", headers=ADMIN)).json()
        assert [(o["price"], o["visible"], o["account"]) for o in l3["bids"]] == [("999.5", "5", "A")]

    run(t)


def test_trades_by_instrument_account_and_time_range() -> None:
    async def t(c: httpx.AsyncClient, gw: RestGateway) -> None:
        await _trade(c, "10")
        await c.post("/v1/clock", json={"op": "advance", "seconds": "60"}, headers=ADMIN)
        await _trade(c, "20")
        all_ = (await c.get("/v1/trades", params={"instrument": INST}, headers=ADMIN)).json()
        assert [x["qty"] for x in all_] == ["10", "20"]
        late = (await c.get("/v1/trades", params={"start": "2031-01-06T00:00:30Z"}, headers=ADMIN)).json()
        assert [x["qty"] for x in late] == ["20"]
        early = (await c.get("/v1/trades", params={"end": "2031-01-06T00:00:30Z"}, headers=ADMIN)).json()
        assert [x["qty"] for x in early] == ["10"]
        mine = (await c.get("/v1/trades", params={"account": "B"}, headers=as_("other"))).json()
        assert {x["buy_account"] for x in mine} == {"B"}

    run(t)


def test_positions_balances_pnl_and_margin() -> None:
    async def t(c: httpx.AsyncClient, gw: RestGateway) -> None:
        await _trade(c)
        pos = (await c.get("/v1/accounts/A/positions", headers=as_("trader"))).json()
        assert [(p["instrument"], p["qty"], p["avg_price"]) for p in pos] == [(INST, "-40", "1000")]
        bal = (await c.get("/v1/accounts/A/balances", headers=as_("trader"))).json()
        assert bal == [{"account": "A", "currency": "JPY", "amount": "100000000"}]
        pnl = (await c.get("/v1/accounts/A/pnl", headers=as_("trader"))).json()
        assert pnl[0]["currency"] == "JPY" and pnl[0]["net"] == "0"
        m = (await c.get("/v1/accounts/A/margin", headers=as_("trader"))).json()
        assert m["equity"] == "100000000" and m["level"] == 0

    run(t)


def test_bars_per_interval() -> None:
    async def t(c: httpx.AsyncClient, gw: RestGateway) -> None:
        await _trade(c, "10")
        bars = (await c.get(f"/v1/bars/{INST}", params={"interval": "1m"}, headers=ADMIN)).json()
        assert [(b["open"], b["close"], b["volume"], b["trades"]) for b in bars] == [
            ("1000", "1000", "10", 1)
        ]
        r = await c.get(f"/v1/bars/{INST}", params={"interval": "7m"}, headers=ADMIN)
        assert r.status_code == 422

    run(t)


def test_clock_halt_resume_and_kill_switch_reach_account_events() -> None:
    async def t(c: httpx.AsyncClient, gw: RestGateway) -> None:
        r = await c.post("/v1/clock", json={"op": "set", "at": "2031-01-06T01:00:00Z"}, headers=ADMIN)
        assert r.json()["now"] == "2031-01-06T01:00:00.000000000Z"
        assert r.json()["mode"] == "virtual" and r.json()["controllable"] is True  # as --clock names it
        r = await c.post("/v1/clock", json={"op": "run_until", "at": "2031-01-06T00:00:00Z"}, headers=ADMIN)
        assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
        r = await c.post("/v1/venues/XTKS/halt", json={"reason": "drill"}, headers=ADMIN)
        assert r.json()["events"][0]["payload"]["phase"] == "HALTED"
        assert (await c.get("/v1/venues", headers=ADMIN)).json()[0]["phase"] == "HALTED"
        await c.post("/v1/venues/XTKS/resume", json={}, headers=ADMIN)
        assert (await c.get("/v1/venues", headers=ADMIN)).json()[0]["phase"] == "CONTINUOUS"
        await c.post("/v1/orders", json=order("A"), headers=as_("trader"))
        r = await c.post("/v1/kill-switch", json={"account": "A", "reason": "drill"}, headers=ADMIN)
        assert [e["type"] for e in r.json()["events"]] == ["KillSwitchEngaged", "OrderCancelled"]
        ev = (await c.get("/v1/accounts/A/events", headers=as_("trader"))).json()
        assert [e["type"] for e in ev] == ["KillSwitchEngaged"]
        r = await c.post("/v1/orders", json=order("A"), headers=as_("trader"))
        assert r.status_code == 422

    run(t)


def test_auditor_as_of_and_verify() -> None:
    async def t(c: httpx.AsyncClient, gw: RestGateway) -> None:
        await c.post("/v1/orders", json=order("A", "BUY", "5", "990"), headers=as_("trader"))
        await c.post("/v1/clock", json={"op": "advance", "seconds": "60"}, headers=ADMIN)
        await c.post("/v1/orders", json=order("A", "BUY", "7", "991"), headers=as_("trader"))
        aud = as_("auditor")
        r = (await c.get("/v1/audit/as-of", params={"at": "2031-01-06T00:00:30Z"}, headers=aud)).json()
        assert [lv["price"] for lv in r["books"][0]["bids"]] == ["990"]
        assert r["head_seq"] == gw.sequencer.store.head().seq and r["seq"] < r["head_seq"]
        now = (await c.get("/v1/audit/as-of", params={"at": "2031-01-06T00:01:00Z"}, headers=aud)).json()
        assert [lv["price"] for lv in now["books"][0]["bids"]] == ["991", "990"]
        v = (await c.get("/v1/audit/verify", headers=aud)).json()
        assert v["ok"] and v["entries"] == gw.sequencer.store.head().seq
        r2 = await c.get("/v1/audit/as-of", params={"at": "2030-01-01T00:00:00Z"}, headers=aud)
        assert r2.status_code == 422 and "outside the log" in r2.json()["detail"]

    run(t)


def test_calendar_of_a_venue() -> None:
    async def t(c: httpx.AsyncClient, gw: RestGateway) -> None:
        cal = (await c.get("/v1/venues/XTKS/calendar", params={"days": 1}, headers=ADMIN)).json()
        assert cal["venue"] == "XTKS" and "CLOSING_AUCTION" in {x["phase"] for x in cal["transitions"]}
        assert (await c.get("/v1/venues/XNOPE/calendar", headers=ADMIN)).status_code == 404

    run(t)


def test_running_until_a_phase_of_an_unknown_venue_is_refused_naming_it() -> None:
    """A venue with no calendar is the client's error (problem+json naming it), not a 500."""

    async def t(c: httpx.AsyncClient, gw: RestGateway) -> None:
        body = {"op": "run_until_phase", "venue": "I", "phase": "CONTINUOUS"}
        r = await c.post("/v1/clock", json=body, headers=ADMIN)
        assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
        assert "unknown venue 'I'" in r.text

    run(t)
