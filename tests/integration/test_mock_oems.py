"""The Tora-style OEMS: client orders with the house's custom tags are checked as FIX answers
(Reject 373=1 / 373=5), routed to the served venue under the OEMS's ids, and their execution
reports come back with the client's ClOrdIDs and the custom tags echoed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from mocks.base import MockContext
from mocks.oems import DEFAULT_PROFILE, OemsMock
from mocks.oems.mock import custom_dictionary
from mocks.profile import read_toml
from mocks.testkit import FixClient, ServedVenue, dial, until
from sim.markets import load_profile

T0 = 1_925_424_000 * 10**9
INST = "XTKS:7203"
SESSIONS = Path(__file__).resolve().parents[2] / "mocks" / "serve-sessions.toml"

TRAFFIC: list[tuple[str, str, bytes]] = []


def client_rejects() -> list[bytes]:
    """Session Rejects (35=3) the OEMS wrote to its clients, as recorded."""
    out = []
    for link, direction, data in TRAFFIC:
        if link.startswith("client/") and direction == "out":
            out += [b"8=" + m for m in data.split(b"8=FIX") if b"\x0135=3\x01" in m]
    return out


Test = Callable[[ServedVenue, OemsMock, object, FixClient], Awaitable[None]]


def run(test: Test) -> None:
    async def main() -> None:
        TRAFFIC.clear()
        venue = ServedVenue(load_profile("XTKS").select(["7203"]).instruments, SESSIONS, start_ns=T0)
        await venue.start()
        ctx = MockContext(
            profile=read_toml(DEFAULT_PROFILE, "p"), clock=venue.clock, targets={"serve": venue.fix},
            record=lambda mock, link, direction, data: TRAFFIC.append((link, direction, data)),
        )  # fmt: skip
        oems = OemsMock(ctx)
        await oems.start()
        client = FixClient()
        try:
            await asyncio.wait_for(oems.routed.wait(), 30)
            session, ini = await dial(
                oems.endpoints()["fix"],
                "PM1",
                "TORA",
                client,
                venue.clock,
                dictionary=custom_dictionary(oems.tags),
            )
            try:
                await test(venue, oems, session, client)
            finally:
                await ini.stop()
        finally:
            await oems.stop()
            await venue.stop()

    asyncio.run(main())


def nos(clid: str, *extra: tuple[int, str]) -> list[tuple[int, str]]:
    return [(11, clid), (1, "FUND1"), (55, INST), (54, "1"), (60, "20310106-00:00:00"), (38, "100"),
            (40, "2"), (44, "2800"), (59, "0"), *extra]  # fmt: skip


def test_an_order_is_routed_to_the_venue_and_its_report_comes_back_with_the_custom_tags() -> None:
    """A D with StrategyName rests on the venue's book under the OEMS's id and the client gets
    ER 150=0 with its own ClOrdID, the OEMS OrderID and 5001/5003 echoed."""

    async def t(venue: ServedVenue, oems: OemsMock, session: object, client: FixClient) -> None:
        session.send("D", nos("c1", (5001, "VWAP"), (5003, "H")))  # type: ignore[attr-defined]
        await until(lambda: bool(client.of("8")))
        er = client.of("8")[0]
        assert er.get(150) == b"0" and er.get(11) == b"c1" and er.get(37) == b"T1"
        assert er.get(5001) == b"VWAP" and er.get(5003) == b"H"
        [o] = venue.server.sequencer.open_orders("FUND1", INST)
        assert o.client_order_id == "T1" and o.price == 28000

    run(t)


def test_a_missing_required_custom_tag_is_a_session_reject_naming_it() -> None:
    """A D without StrategyName (5001) is answered 35=3 373=1 371=5001 and nothing is routed."""

    async def t(venue: ServedVenue, oems: OemsMock, session: object, client: FixClient) -> None:
        session.send("D", nos("c2"))  # type: ignore[attr-defined]
        await until(lambda: bool(client_rejects()))
        [rej] = client_rejects()
        assert b"\x01373=1\x01" in rej and b"\x01371=5001\x01" in rej
        assert not oems.orders
        assert not venue.server.sequencer.open_orders("FUND1", INST)

    run(t)


def test_a_custom_tag_value_outside_its_list_is_a_session_reject() -> None:
    """Urgency (5003) must be L, M or H: X is refused with 35=3 373=5 and not routed."""

    async def t(venue: ServedVenue, oems: OemsMock, session: object, client: FixClient) -> None:
        session.send("D", nos("c3", (5001, "VWAP"), (5003, "X")))  # type: ignore[attr-defined]
        session.send("D", nos("c4", (5001, "VWAP")))  # type: ignore[attr-defined]
        await until(lambda: bool(client.of("8")))
        assert client.of("8")[0].get(11) == b"c4"
        assert list(oems.by_client) == [("PM1", "c4")]
        [rej] = client_rejects()
        assert b"\x01373=5\x01" in rej and b"\x01371=5003\x01" in rej

    run(t)


def test_a_cancel_reaches_the_venue_and_the_client_sees_its_own_ids() -> None:
    """F for a routed order cancels it on the venue; the client's ER 150=4 carries its cancel
    ClOrdID and OrigClOrdID."""

    async def t(venue: ServedVenue, oems: OemsMock, session: object, client: FixClient) -> None:
        session.send("D", nos("c5", (5001, "TWAP")))  # type: ignore[attr-defined]
        await until(lambda: bool(client.of("8")))
        session.send(  # type: ignore[attr-defined]
            "F", [(41, "c5"), (11, "c6"), (1, "FUND1"), (55, INST), (54, "1"), (60, "20310106-00:00:00")]
        )
        await until(lambda: any(m.get(150) == b"4" for m in client.of("8")))
        er = next(m for m in client.of("8") if m.get(150) == b"4")
        assert er.get(11) == b"c6" and er.get(41) == b"c5" and er.get(37) == b"T1"
        assert not venue.server.sequencer.open_orders("FUND1", INST)

    run(t)


def test_an_unsupported_message_is_a_business_reject() -> None:
    """A News (B) from a client is answered 35=j 380=3."""

    async def t(venue: ServedVenue, oems: OemsMock, session: object, client: FixClient) -> None:
        session.send("B", [(58, "hi")])  # type: ignore[attr-defined]
        await until(lambda: bool(client.of("j")))
        assert client.of("j")[0].get(380) == b"3"

    run(t)
