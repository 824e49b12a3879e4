"""The external exchange mock over FIX: it lists its venue profile's books, keeps a resting ladder,
fills a hedge against it, answers bad orders as Chronex's FIX gateway does, and honours its faults
(reject, outage, thin book, latency) on the shared virtual clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from mocks.base import MockContext, MockError
from mocks.exchange import DEFAULT_PROFILE, ExchangeMock
from mocks.faults import parse_schedule
from mocks.profile import read_toml
from mocks.testkit import FixClient, dial, until
from sim.clock import VirtualClock

T0 = 1_925_424_000 * 10**9  # 2031-01-06 00:00 UTC
BTC = "CRYPTO:BTCUSD"


def order(clid: str, side: str, qty: str, price: str, tif: str = "3") -> list[tuple[int, str]]:
    return [(11, clid), (1, "HEDGE"), (55, BTC), (54, side), (60, "20310106-00:00:00"),
            (38, qty), (40, "2"), (44, price), (59, tif)]  # fmt: skip


def run(
    test: Callable[[ExchangeMock, Any, FixClient, VirtualClock], Awaitable[None]],
    faults: Any = None,
    profile: dict[str, Any] | None = None,
) -> None:
    async def main() -> None:
        clock = VirtualClock(T0)
        sched = parse_schedule(faults, clock) if faults else None
        raw = profile or read_toml(DEFAULT_PROFILE, "p")
        ex = ExchangeMock(MockContext(profile=raw, clock=clock, faults=sched))
        await ex.start()
        client = FixClient()
        try:
            session, ini = await dial(ex.endpoints()["fix"], "HEDGER", "EXCH", client, clock)
            try:
                await test(ex, session, client, clock)
            finally:
                await ini.stop()
        finally:
            await ex.stop()

    asyncio.run(main())


def test_a_hedge_fills_against_the_resting_ladder_and_the_ladder_refills() -> None:
    """An IOC buy of the whole best ask fills (ER 150=F, 39=2) and the exchange re-places the
    level it took, at the same price and size."""

    async def t(ex: ExchangeMock, session: Any, client: FixClient, clock: VirtualClock) -> None:
        book = ex.server.sequencer.book(BTC)
        best_ask = book.asks[0].price
        assert book.bids[0].price < best_ask
        session.send("D", order("h1", "1", f"{book.asks[0].qty * 0.0001:.4f}", f"{best_ask * 0.01:.2f}"))
        await until(lambda: any(m.get(39) == b"2" for m in client.of("8")))
        fill = next(m for m in client.of("8") if m.get(39) == b"2")
        assert fill.get(150) == b"F" and fill.get(11) == b"h1"
        await until(lambda: ex.server.sequencer.book(BTC).asks[0].price == best_ask
                    and ex.server.sequencer.book(BTC).asks[0].qty == book.asks[0].qty)  # fmt: skip

    run(t)


def test_an_unknown_instrument_is_rejected_with_ordrejreason_1() -> None:
    """A NewOrderSingle for a symbol the venue does not list gets ER 39=8 with 103=1."""

    async def t(ex: ExchangeMock, session: Any, client: FixClient, clock: VirtualClock) -> None:
        body = [(k, "CRYPTO:NOPE" if k == 55 else v) for k, v in order("x1", "1", "1", "100")]
        session.send("D", body)
        await until(lambda: bool(client.of("8")))
        er = client.of("8")[0]
        assert er.get(39) == b"8" and er.get(103) == b"1"

    run(t)


def test_an_unsupported_message_gets_business_message_reject_unsupported_type() -> None:
    """A message type the venue does not take (B News) is answered 35=j 380=3 naming the type,
    and the session stays up for the next order."""

    async def t(ex: ExchangeMock, session: Any, client: FixClient, clock: VirtualClock) -> None:
        session.send("B", [(58, "hello")])
        await until(lambda: bool(client.of("j")))
        j = client.of("j")[0]
        assert j.get(380) == b"3" and j.get(372) == b"B"
        assert session.logged_on

    run(t)


def test_a_reject_fault_refuses_orders_only_inside_its_window() -> None:
    """Inside a reject window of the shared clock orders are refused (ER 39=8, 103=99); after it
    they trade again."""
    faults = {"fault": [{"kind": "reject", "mock": "exchange", "from": T0, "until": T0 + 60 * 10**9}]}

    async def t(ex: ExchangeMock, session: Any, client: FixClient, clock: VirtualClock) -> None:
        ask = ex.server.sequencer.book(BTC).asks[0].price
        session.send("D", order("r1", "1", "0.0010", f"{ask * 0.01:.2f}"))
        await until(lambda: bool(client.of("8")))
        er = client.of("8")[0]
        assert er.get(39) == b"8" and b"EXCHANGE_REJECT" in (er.get(58) or b"")
        clock.advance(61 * 10**9)
        session.send("D", order("r2", "1", "0.0010", f"{ask * 0.01:.2f}"))
        await until(lambda: any(m.get(11) == b"r2" and m.get(150) == b"F" for m in client.of("8")))

    run(t, faults)


def test_an_outage_drops_the_session_and_refuses_logons_until_it_ends() -> None:
    """When an outage window opens the exchange drops the FIX link; a logon during it is refused
    and one after it succeeds."""
    faults = {"fault": [{"kind": "outage", "from": T0 + 10 * 10**9, "until": T0 + 20 * 10**9}]}

    async def t(ex: ExchangeMock, session: Any, client: FixClient, clock: VirtualClock) -> None:
        clock.advance(10 * 10**9)
        await until(lambda: session.link is None)
        other = FixClient()
        try:
            await dial(ex.endpoints()["fix"], "HEDGER", "EXCH", other, clock, logon_timeout_s=2.0)
            raise AssertionError("logon during an outage succeeded")
        except (ConnectionError, OSError):
            pass
        clock.advance(10 * 10**9)
        s2, ini2 = await dial(ex.endpoints()["fix"], "HEDGER", "EXCH", other, clock)
        assert s2.logged_on
        await ini2.stop()

    run(t, faults)


def test_a_partial_fill_fault_thins_the_ladder_so_a_large_hedge_fills_partly() -> None:
    """With fill_ratio 0.5 the refilled levels hold half the lots, and an IOC for more than the
    level leaves a remainder cancelled (ER 39=4 after a partial fill)."""
    faults = {"fault": [{"kind": "partial_fill", "fill_ratio": 0.5, "from": T0 + 1}]}

    async def t(ex: ExchangeMock, session: Any, client: FixClient, clock: VirtualClock) -> None:
        best = ex.server.sequencer.book(BTC).asks[0]
        clock.advance(1)
        # Take the whole best level; it is refilled thin.
        session.send("D", order("p1", "1", f"{best.qty * 0.0001:.4f}", f"{best.price * 0.01:.2f}"))
        await until(lambda: any(m.get(11) == b"p1" and m.get(39) == b"2" for m in client.of("8")))
        await until(lambda: ex.server.sequencer.book(BTC).asks[0].price == best.price)
        thin = ex.server.sequencer.book(BTC).asks[0]
        assert thin.qty == best.qty // 2
        session.send("D", order("p2", "1", f"{best.qty * 0.0001:.4f}", f"{best.price * 0.01:.2f}"))
        await until(lambda: any(m.get(11) == b"p2" and m.get(39) == b"4" for m in client.of("8")))
        fills = [m for m in client.of("8") if m.get(11) == b"p2" and m.get(150) == b"F"]
        assert sum(float(m.get_str(32) or 0) for m in fills) < best.qty * 0.0001

    run(t, faults)


def test_the_itch_feed_carries_the_ladder_and_a_hedge_fill() -> None:
    """A SoupBinTCP subscriber of the exchange's ITCH feed gets an Add Order for each ladder
    level and an Order Executed when a hedge takes liquidity."""
    from system.gateways.itch.soup import SoupClient

    async def t(ex: ExchangeMock, session: Any, client: FixClient, clock: VirtualClock) -> None:
        host, _, port = ex.endpoints()["itch"].rpartition(":")
        sub = SoupClient(heartbeat=0.05)
        await sub.connect(host, int(port), "any", "any", "", 1)
        got: list[str] = []

        async def read() -> None:
            async for msg in sub.messages():
                got.append(chr(msg[0]))

        reader = asyncio.create_task(read())
        levels = 2 * 5  # the default profile's ladder on BTC/USD
        await until(lambda: got.count("A") >= levels)
        ask = ex.server.sequencer.book(BTC).asks[0].price
        session.send("D", order("i1", "1", "0.0010", f"{ask * 0.01:.2f}"))
        await until(lambda: "E" in got)
        reader.cancel()
        await sub.close()

    run(t)


def test_a_rule_difference_in_the_profile_changes_the_venue_rules() -> None:
    """``rule_difference = "stp-cancel-oldest"`` in [exchange]: a self-trade with STP cancel-newest
    cancels the resting order (the reference would cancel the incoming one); its manifest label names it."""
    raw = read_toml(DEFAULT_PROFILE, "p")
    raw["exchange"]["rule_difference"] = "stp-cancel-oldest"

    async def t(ex: ExchangeMock, session: Any, client: FixClient, clock: VirtualClock) -> None:
        book = ex.server.sequencer.book(BTC)
        mid = (book.bids[0].price + book.asks[0].price) // 2  # inside the ladder's spread
        px = f"{mid * 0.01:.2f}"
        session.send("D", order("rest", "2", "0.0010", px, tif="1"))
        await until(lambda: any(m.get(11) == b"rest" for m in client.of("8")))
        session.send("D", [*order("inc", "1", "0.0010", px, tif="1"), (7928, "1")])
        await until(lambda: any(m.get(150) == b"4" for m in client.of("8")))
        cancelled = [m.get(11) for m in client.of("8") if m.get(150) == b"4"]
        assert cancelled == [b"rest"]
        assert "stp-cancel-oldest" in ex.server.host.world.system.rules.label()

    run(t, profile=raw)


def test_an_unknown_rule_difference_in_the_profile_is_a_mock_error_naming_it() -> None:
    """A misspelt difference is refused with the field, the bad name and the known ones."""
    raw = read_toml(DEFAULT_PROFILE, "p")
    raw["exchange"]["rule_difference"] = ["tick-off-by-one", "faster"]
    with pytest.raises(MockError, match=r"exchange.rule_difference: rule difference 'faster' is unknown"):
        ExchangeMock(MockContext(profile=raw, clock=VirtualClock(T0)))
    raw["exchange"]["rule_difference"] = 3
    with pytest.raises(MockError, match=r"exchange.rule_difference: 3 is not a name"):
        ExchangeMock(MockContext(profile=raw, clock=VirtualClock(T0)))
