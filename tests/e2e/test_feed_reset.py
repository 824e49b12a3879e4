"""The feed of `chronex serve --allow-reset` across an admin reset (the BDD driver resets the
server between scenarios): the old session ends with End of Session, and subscribers follow the
new log in a new session whose sequence numbers and order references start again at 1."""

from __future__ import annotations

import asyncio
from pathlib import Path

from chronex.timearg import parse_instant
from sim.markets import load_profile
from system.bootstrap import SystemConfig
from system.engine import Phase, Side, SubmitOrder
from system.eventlog.codec import canonical
from system.gateways.itch import FeedBook, decode
from system.gateways.itch.mold import MoldClient
from system.gateways.itch.soup import SoupClient
from system.server.admin import AdminClient
from system.server.process import ServeProcess

ROOT = Path(__file__).resolve().parents[2]
START = "2031-01-06T10:00+09:00"


def test_feed_subscribers_keep_working_across_an_admin_reset() -> None:
    """A SoupBinTCP subscriber of the first scenario gets End of Session at the reset; logging in
    again (no session named) gets the new session from sequence 1 with the new scenario's book;
    a MoldUDP64 subscriber switches to the new session by itself and rebuilds the same book."""
    inst = next(s.instrument for s in load_profile("XTKS").specs if s.instrument.symbol == "7203")

    async def run() -> tuple[list[bytes], SoupClient, list[bytes], str, list[bytes], list[bytes]]:
        mold_msgs: list[bytes] = []
        sessions: list[bytes] = []

        def new_session(session: bytes) -> None:  # a new day: what came before is another book
            sessions.append(session)
            mold_msgs.clear()

        mold = MoldClient(mold_msgs.append, ("127.0.0.1", 9), retry=0.02, on_session=new_session)
        target = await mold.start()
        srv = await asyncio.to_thread(
            ServeProcess,
            ["--venue", "XTKS", "--instruments", "7203", "--no-calendar", "--allow-reset", "--start", START,
             "--itch-port", "0", "--mold-port", "0", "--mold-to", f"127.0.0.1:{target}"],
            cwd=ROOT,
        )  # fmt: skip
        try:
            mold.request_to = ("127.0.0.1", srv.info["mold_port"])
            admin = AdminClient("127.0.0.1", srv.admin_port)
            admin.execute(SubmitOrder("A", "b1", "XTKS:7203", Side.BUY, 300, price=25000))
            first = SoupClient(heartbeat=0.2)
            await first.connect("127.0.0.1", srv.info["itch_port"], seq=1)
            before: list[bytes] = []

            async def read_first() -> None:
                async for msg in first.messages():
                    before.append(msg)

            reader = asyncio.create_task(read_first())
            config = SystemConfig(seed=2, instruments=(inst,), default_phase=Phase.CONTINUOUS, label="again")
            spec = {"config": canonical(config), "start_ns": parse_instant(START, what="start"), "log": None}
            await asyncio.to_thread(admin.call, "reset", spec=spec)
            await asyncio.wait_for(reader, 30)  # ends: End of Session of the first session
            admin.execute(SubmitOrder("B", "s1", "XTKS:7203", Side.SELL, 200, price=25100))
            second = SoupClient(heartbeat=0.2)
            assert await second.connect("127.0.0.1", srv.info["itch_port"], seq=1) == 1
            after: list[bytes] = []
            async for msg in second.messages():
                after.append(msg)
                if msg[:1] == b"A":
                    break
            await second.close()
            for _ in range(300):  # the MoldUDP64 subscriber has the new session's Add Order
                if len(sessions) == 2 and any(m[:1] == b"A" for m in mold_msgs):
                    break
                await asyncio.sleep(0.05)
            admin.close()
        finally:
            assert await asyncio.to_thread(srv.terminate) == 0
            mold.close()
        return before, first, after, second.session, mold_msgs, sessions

    before, first, after, session, mold_msgs, sessions = asyncio.run(run())
    assert first.ended and first.session == "1"
    adds = [decode(m) for m in before if m[:1] == b"A"]
    assert [(a[4], a[5], a[6]) for a in adds] == [(1, b"B", 300)]
    assert before[-1][:1] == b"S" and decode(before[-1])[4] == b"C"  # End of Messages, then Z
    assert session == "2"
    assert after[0][:1] == b"S" and decode(after[0])[4] == b"O"  # the new session's first message
    book = FeedBook()
    for m in after:
        book.apply(m)
    assert book.book("7203") == ([], [(25_100_000, [(1, 200)])])  # reference 1 again, no bid
    assert [s.strip() for s in sessions] == [b"1", b"2"]
    mold_book = FeedBook()
    for m in mold_msgs:
        mold_book.apply(m)
    assert mold_book.book("7203") == book.book("7203")
