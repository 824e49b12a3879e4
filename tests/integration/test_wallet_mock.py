"""The wallet mock: deposits credited after their confirmations in virtual time, withdrawals
only to allow-listed addresses, and problem+json for every refusal."""

from __future__ import annotations

import asyncio
import json
import re
import tomllib
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from mocks.base import MockContext, MockError
from mocks.wallet import Wallet, WalletMock, parse_profile
from system.clock import FixedClock

T0 = 1_925_424_000 * 10**9
PROFILE = tomllib.loads((Path("mocks/wallet/wallet.toml")).read_text())
ALICE_BTC = "bc1qalicecoldstorage0000000000000000000"


def run(test: Callable[[httpx.AsyncClient, FixedClock, list[bytes]], Awaitable[None]]) -> None:
    clock = FixedClock(T0)
    log: list[bytes] = []
    mock = WalletMock(MockContext(PROFILE, clock, record=lambda m, link, d, p: log.append(p)))

    async def main() -> None:
        transport = httpx.ASGITransport(app=mock.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://wallet") as c:
            await test(c, clock, log)

    asyncio.run(main())


def test_a_btc_deposit_is_credited_after_three_confirmations_of_virtual_time() -> None:
    """1 confirmation when seen, one more per 600 s block: credited at seen + 1,200 s, not before."""

    async def t(c: httpx.AsyncClient, clock: FixedClock, log: list[bytes]) -> None:
        r = await c.post(
            "/v1/deposits", json={"account": "alice", "asset": "BTC", "amount": "0.5", "txid": "tx1"}
        )
        assert r.status_code == 201, r.text
        dep = r.json()
        assert (dep["status"], dep["confirmations"], dep["required"]) == ("pending", 1, 3)
        bal = (await c.get("/v1/accounts/alice/balances")).json()
        assert {"asset": "BTC", "available": "0.00000000", "pending": "0.50000000"} in bal
        clock.t += 1_199 * 10**9
        d = (await c.get(f"/v1/deposits/{dep['id']}")).json()
        assert (d["status"], d["confirmations"]) == ("pending", 2)
        clock.t += 10**9
        d = (await c.get(f"/v1/deposits/{dep['id']}")).json()
        assert (d["status"], d["confirmations"]) == ("credited", 3)
        assert d["credited_at_ns"] == T0 + 1_200 * 10**9
        bal = (await c.get("/v1/accounts/alice/balances")).json()
        assert {"asset": "BTC", "available": "0.50000000", "pending": "0.00000000"} in bal
        events = [json.loads(p)["event"] for p in log if p.startswith(b"{")]
        assert events == ["DepositSeen", "DepositCredited"]

    run(t)


def test_withdrawal_to_an_address_off_the_allow_list_is_refused_403_and_nothing_moves() -> None:
    """An unknown address is a 403 naming the address; the balance is unchanged."""

    async def t(c: httpx.AsyncClient, clock: FixedClock, log: list[bytes]) -> None:
        await c.post("/v1/deposits", json={"account": "alice", "asset": "BTC", "amount": "1", "txid": "tx1"})
        clock.t += 3_600 * 10**9
        r = await c.post(
            "/v1/withdrawals",
            json={"account": "alice", "asset": "BTC", "amount": "0.1", "address": "bc1qthief"},
        )
        assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
        assert r.json()["field"] == "address" and r.json()["value"] == "bc1qthief"
        r = await c.post(
            "/v1/withdrawals",
            json={"account": "alice", "asset": "BTC", "amount": "0.1", "address": ALICE_BTC},
        )
        assert r.status_code == 201 and r.json()["status"] == "processing" and r.json()["fee"] == "0.00002000"
        wid = r.json()["id"]
        bal = (await c.get("/v1/accounts/alice/balances")).json()
        assert {"asset": "BTC", "available": "0.89998000", "pending": "0.00000000"} in bal
        clock.t += 1_800 * 10**9
        assert (await c.get(f"/v1/withdrawals/{wid}")).json()["status"] == "completed"

    run(t)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"account": "alice", "asset": "BTC", "amount": "5", "address": ALICE_BTC}, 400, "amount"),
        ({"account": "alice", "asset": "BTC", "amount": "0.00001", "address": ALICE_BTC}, 400, "amount"),
        ({"account": "alice", "asset": "BTC", "amount": "0.000000001", "address": ALICE_BTC}, 400, "amount"),
        ({"account": "alice", "asset": "DOGE", "amount": "1", "address": ALICE_BTC}, 404, "asset"),
        ({"account": "mallory", "asset": "BTC", "amount": "1", "address": ALICE_BTC}, 404, "account"),
    ],
)
def test_bad_withdrawals_are_4xx_problems_naming_the_field(
    body: dict[str, str], status: int, field: str
) -> None:
    """Too much, below the minimum, too precise, unknown asset or account: a 4xx naming the field."""

    async def t(c: httpx.AsyncClient, clock: FixedClock, log: list[bytes]) -> None:
        r = await c.post("/v1/withdrawals", json=body)
        assert r.status_code == status and r.json()["field"] == field

    run(t)


def test_a_txid_seen_twice_is_a_409() -> None:
    """The chain never credits one transaction twice."""

    async def t(c: httpx.AsyncClient, clock: FixedClock, log: list[bytes]) -> None:
        body = {"account": "bob", "asset": "BTC", "amount": "1", "txid": "tx9"}
        assert (await c.post("/v1/deposits", json=body)).status_code == 201
        assert (await c.post("/v1/deposits", json=body)).status_code == 409

    run(t)


def test_deposit_addresses_are_stable_per_account_and_asset() -> None:
    """The same account and asset always get the same address; another account another."""
    w1 = Wallet(parse_profile(PROFILE), FixedClock(0), lambda *a: None)
    w2 = Wallet(parse_profile(PROFILE), FixedClock(5), lambda *a: None)
    assert w1.address("alice", "BTC") == w2.address("alice", "BTC") != w1.address("bob", "BTC")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"asset": [{"asset": "BTC", "confirmations": 0, "block_time_s": 600}]}, "asset[0].confirmations"),
        ({"asset": [{"asset": "BTC", "confirmations": 3, "block_time_s": "ten"}]}, "asset[0].block_time_s"),
        ({"asset": [{"asset": "BTC", "confirmations": 3, "block_time_s": 6, "fee": "x"}]}, "asset[0].fee"),
        ({"account": [{"account": "a", "allow": "bc1"}]}, "account[0].allow"),
        ({"asset": []}, "asset"),
    ],
)
def test_a_bad_wallet_profile_names_the_field(change: dict[str, object], field: str) -> None:
    """A bad profile value is a MockError naming the field."""
    with pytest.raises(MockError, match=f"wallet mock: {re.escape(field)} = "):
        parse_profile(PROFILE | change)
