"""The FIX application over the server core, end to end on loopback: orders in, ExecutionReports
out to the owning session and the drop copy, cancels, replaces, status, mass cancel, rejects with
OrdRejReason/CxlRejReason, duplicate ClOrdIDs, and SendingTime from the server's virtual clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from chronex.commands.serve import ServedWorld, WorldHost
from system.bootstrap import SystemConfig
from system.engine.testkit import instrument
from system.gateways.fix import FixAcceptor, FixInitiator, FixMessage, FixSession, store_factory
from system.gateways.fix.config import parse_sessions
from system.gateways.fix.mapping import chronex_dictionary
from system.gateways.fix.orders import OrderEntry
from system.server.clockmode import ClockMode
from system.server.server import Server

T0 = 1_925_424_000 * 10**9  # 2031-01-06 09:00 JST
INST = "XTKS:7203"

SESSIONS = parse_sessions(
    {
        "defaults": {"sender_comp_id": "CHRONEX", "heartbeat_s": 30},
        "session": [
            {"target_comp_id": "QA1", "accounts": ["A"]},
            {"target_comp_id": "QA2", "accounts": ["B"]},
            {"target_comp_id": "DC", "accounts": ["*"], "role": "drop-copy"},
        ],
    }
)


class Client:
    """An initiator's application: it keeps what arrives."""

    def __init__(self) -> None:
        self.got: list[FixMessage] = []

    def on_logon(self, session: FixSession) -> None:
        pass

    def on_logout(self, session: FixSession) -> None:
        pass

    def from_app(self, msg: FixMessage, session: FixSession) -> None:
        self.got.append(msg)

    def of(self, msg_type: str) -> list[FixMessage]:
        return [m for m in self.got if m.msg_type == msg_type]


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


def nos(clid: str, side: str, qty: str, price: str | None = None, **extra: str) -> list[tuple[int, str]]:
    ord_type = "2" if price else "1"
    body = [(11, clid), (55, INST), (54, side), (60, "20310106-00:00:00"), (38, qty), (40, ord_type)]
    if price is not None:
        body.append((44, price))
    body += [(int(k[1:]), v) for k, v in extra.items()]
    return body


async def _run(test: Callable[[Server, dict[str, FixSession], dict[str, Client]], object]) -> None:
    world = ServedWorld(SystemConfig(instruments=(instrument(INST),)), start_ns=T0, sessions=False)
    server = Server(WorldHost(world), ClockMode(world.clock))
    await server.start()
    acceptor = FixAcceptor(
        SESSIONS, OrderEntry(server, SESSIONS), world.clock, store_factory("memory:"),
        dictionary=chronex_dictionary(),
    )  # fmt: skip
    await acceptor.start()
    sessions: dict[str, FixSession] = {}
    clients: dict[str, Client] = {}
    initiators = []
    for s in SESSIONS.sessions:
        c = Client()
        ini = FixInitiator(
            s.counterpart(), c, world.clock, store_factory("memory:"), host="127.0.0.1", port=acceptor.port,
            dictionary=chronex_dictionary(),
        )  # fmt: skip
        sessions[s.target_comp_id] = await ini.connect()
        clients[s.target_comp_id] = c
        initiators.append(ini)
    try:
        res = test(server, sessions, clients)
        if asyncio.iscoroutine(res):
            await res
    finally:
        for ini in initiators:
            await ini.stop()
        await acceptor.stop()
        await server.stop()


def test_trade_reaches_both_owners_and_the_drop_copy() -> None:
    """A cross gives each side its fill (the resting side too) and the drop copy all of it,
    stamped with the server's 2031 clock."""

    async def body(server: Server, s: dict[str, FixSession], c: dict[str, Client]) -> None:
        s["QA1"].send("D", nos("b1", "1", "100", "2500"))
        await until(lambda: len(c["QA1"].of("8")) == 1)
        s["QA2"].send("D", nos("s1", "2", "100", "2500"))
        await until(lambda: len(c["QA1"].of("8")) == 2 and len(c["QA2"].of("8")) == 2)
        fill = c["QA1"].of("8")[1]
        assert fill.get(150) == b"F" and fill.get(39) == b"2"
        assert fill.get(31) == b"2500" and fill.get(32) == b"100" and fill.get(6) == b"2500"
        assert fill.get(11) == b"b1" and fill.get(1) == b"A"
        assert fill.get(60).startswith(b"20310106-00:00:00")  # type: ignore[union-attr]
        assert fill.get(52).startswith(b"2031")  # type: ignore[union-attr]
        assert [m.get(150) for m in c["QA2"].of("8")] == [b"0", b"F"]
        await until(lambda: len(c["DC"].of("8")) == 4)
        assert sorted(m.get(11) for m in c["DC"].of("8") if m.get(150) == b"F") == [b"b1", b"s1"]

    asyncio.run(_run(body))


def test_cancel_replace_status_and_mass_cancel() -> None:
    """Cancel and replace name the new and original ClOrdIDs; status and mass cancel answer."""

    async def body(server: Server, s: dict[str, FixSession], c: dict[str, Client]) -> None:
        qa = s["QA1"]
        for i in range(3):
            qa.send("D", nos(f"o{i}", "1", "100", str(2500 - i)))
        await until(lambda: len(c["QA1"].of("8")) == 3)
        qa.send("G", [(41, "o0"), (11, "o0r"), (55, INST), (54, "1"), (60, "20310106-00:00:00"),
                      (38, "50"), (40, "2"), (44, "2490")])  # fmt: skip
        await until(lambda: len(c["QA1"].of("8")) == 4)
        rep = c["QA1"].of("8")[3]
        assert (rep.get(150), rep.get(11), rep.get(41), rep.get(44), rep.get(38)) == (
            b"5", b"o0r", b"o0", b"2490", b"50"
        )
        qa.send("F", [(41, "o0r"), (11, "o0c"), (55, INST), (54, "1"), (60, "20310106-00:00:00")])
        await until(lambda: len(c["QA1"].of("8")) == 5)
        cxl = c["QA1"].of("8")[4]
        assert (cxl.get(150), cxl.get(39), cxl.get(11), cxl.get(41)) == (b"4", b"4", b"o0c", b"o0r")
        qa.send("F", [(41, "nope"), (11, "x1"), (55, INST), (54, "1"), (60, "20310106-00:00:00")])
        await until(lambda: len(c["QA1"].of("9")) == 1)
        rej = c["QA1"].of("9")[0]
        assert (rej.get(102), rej.get(434), rej.get(41)) == (b"1", b"1", b"nope")
        qa.send("H", [(11, "o1"), (55, INST), (54, "1")])
        await until(lambda: len(c["QA1"].of("8")) == 6)
        st = c["QA1"].of("8")[5]
        assert (st.get(150), st.get(39), st.get(11), st.get(151)) == (b"I", b"0", b"o1", b"100")
        qa.send("q", [(11, "m1"), (530, "7"), (60, "20310106-00:00:00")])
        await until(lambda: len(c["QA1"].of("r")) == 1 and len(c["QA1"].of("8")) == 8)
        mr = c["QA1"].of("r")[0]
        assert (mr.get(531), mr.get(533)) == (b"7", b"2")
        assert server.sequencer.open_orders("A") == []

    asyncio.run(_run(body))


def test_rejects_carry_reasons_and_duplicates_are_refused() -> None:
    """Engine rejects map to OrdRejReason with Text; a reused ClOrdID is refused unlogged; an
    unsupported message type gets a BusinessMessageReject."""

    async def body(server: Server, s: dict[str, FixSession], c: dict[str, Client]) -> None:
        qa = s["QA1"]
        qa.send("D", nos("r1", "1", "100", "2500", t1="B"))  # account B is not QA1's
        await until(lambda: len(c["QA1"].of("8")) == 1)
        assert (c["QA1"].of("8")[0].get(103), c["QA1"].of("8")[0].get(39)) == (b"15", b"8")
        qa.send("D", nos("r2", "1", "100", "-5"))
        await until(lambda: len(c["QA1"].of("8")) == 2)
        er = c["QA1"].of("8")[1]
        assert er.get(39) == b"8" and er.get(103) == b"99"
        assert b"INVALID_PRICE" in (er.get(58) or b"")
        head = server.host.store.head().seq
        qa.send("D", nos("r2", "1", "100", "2500"))
        await until(lambda: len(c["QA1"].of("8")) == 3)
        dup = c["QA1"].of("8")[2]
        assert (dup.get(39), dup.get(103)) == (b"8", b"6")
        assert server.host.store.head().seq == head
        qa.send("D", nos("r3", "1", "100", "2500", t7928="1"))  # STP cancel newest
        await until(lambda: len(c["QA1"].of("8")) == 4)
        assert c["QA1"].of("8")[3].get(150) == b"0"
        qa.send("E", [(66, "L1")])
        await until(lambda: len(c["QA1"].of("j")) == 1)
        assert c["QA1"].of("j")[0].get(380) == b"3"

    asyncio.run(_run(body))
