"""ITCH over the wire: a seeded simulated morning published over SoupBinTCP and MoldUDP64 (with
loss, reordering and duplication) is rebuilt by our clients at every trade; a late joiner through
GLIMPSE ends with the same book as a subscriber there from the start."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from sim.markets import simulated_day
from system.clock import NS_PER_SECOND
from system.eventlog.codec import LoggedEvent
from system.gateways.itch import FeedBook, ItchEncoder
from system.gateways.itch.mold import Faults, MoldClient, MoldPublisher
from system.gateways.itch.soup import LoginRejected, SoupClient, SoupServer
from system.gateways.itch.verify import Mark, check_stream, feed_sides
from tests.e2e.feed_kit import free_udp_port, multicast_on_loopback


@pytest.fixture(scope="module")
def morning() -> Iterator[tuple[Any, list[LoggedEvent]]]:
    d = simulated_day("XTKS", date(2027, 1, 4), instruments=["7203", "6758"], seed=23)
    d.end_ns = d.start_ns + 64 * 60 * NS_PER_SECOND  # pre-open, the opening auction, 4 minutes after
    d.run()
    d.world.runtime.flush()
    yield d, list(d.world.store.read(1))
    d.close()


async def publish(enc: ItchEncoder, events: list[LoggedEvent], chunk: int = 200) -> list[Mark]:
    """Feed the log to the encoder as a server would, a batch at a time, letting clients read
    between batches; ends the feed."""
    marks: list[Mark] = []
    for i in range(0, len(events), chunk):
        for ev in events[i : i + chunk]:
            enc.handle(ev)
            if ev.type == "TradeExecuted":
                marks.append(Mark(ev.seq, enc.sent, enc.pending))
        enc.flush()
        await asyncio.sleep(0.002)
    enc.finish()
    return marks


def test_soupbintcp_round_trip_rebuilds_the_book_at_every_trade(morning) -> None:  # type: ignore[no-untyped-def]
    """Two subscribers over SoupBinTCP receive the whole stream, byte for byte, and the book
    rebuilt from it equals the engine's at every trade; a wrong password is rejected."""
    day, events = morning

    async def run() -> tuple[list[bytes], list[bytes], list[Mark], ItchEncoder]:
        enc = ItchEncoder(day.session.tz, day.profile.ids)
        server = SoupServer(enc, session="DAY1", users={"firm": "secret"}, heartbeat=0.05)
        port = await server.start()
        with pytest.raises(LoginRejected):
            bad = SoupClient()
            await bad.connect("127.0.0.1", port, "firm", "wrong")
        got: list[list[bytes]] = [[], []]

        async def subscribe(k: int) -> None:
            c = SoupClient(heartbeat=0.05)
            assert await c.connect("127.0.0.1", port, "firm", "secret", "DAY1", 1) == 1
            async for msg in c.messages():
                got[k].append(msg)
            await c.close()

        tasks = [asyncio.create_task(subscribe(k)) for k in (0, 1)]
        await asyncio.sleep(0.01)
        marks = await publish(enc, events)
        server.notify()
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
        await server.stop()
        return got[0], got[1], marks, enc

    a, b, marks, enc = asyncio.run(run())
    assert a == enc.messages and b == enc.messages
    assert len(marks) > 50
    assert check_stream(events, a, marks, enc.order_of) == []


def test_a_late_joiner_through_glimpse_ends_with_the_same_book(morning) -> None:  # type: ignore[no-untyped-def]
    """A subscriber that takes a GLIMPSE snapshot in the middle of the morning and joins the live
    feed at the sequence number it names ends with the book of one that was there from the start."""
    day, events = morning

    async def run() -> tuple[FeedBook, FeedBook, ItchEncoder]:
        enc = ItchEncoder(day.session.tz, day.profile.ids)
        live = SoupServer(enc, heartbeat=0.05)
        glimpse = SoupServer(enc, glimpse=True)
        live_port = await live.start()
        glimpse_port = await glimpse.start()
        early, late = FeedBook(), FeedBook()

        async def follow(book: FeedBook, seq: int) -> None:
            c = SoupClient(heartbeat=0.05)
            await c.connect("127.0.0.1", live_port, seq=seq)
            async for msg in c.messages():
                book.apply(msg)

        first = asyncio.create_task(follow(early, 1))
        half = len(events) // 2
        for ev in events[:half]:
            enc.handle(ev)
        enc.flush()
        snap = SoupClient()
        await snap.connect("127.0.0.1", glimpse_port)
        async for msg in snap.messages():
            late.apply(msg)
        assert late.next_seq == enc.sent + 1 and len(late.orders) > 0
        second = asyncio.create_task(follow(late, late.next_seq))
        await publish(enc, events[half:])
        live.notify()
        await asyncio.wait_for(asyncio.gather(first, second), 60)
        await live.stop()
        await glimpse.stop()
        return early, late, enc

    early, late, enc = asyncio.run(run())
    for lst in enc.listings.values():
        symbol = lst.inst.symbol
        assert feed_sides(late, symbol, enc.order_of) == feed_sides(early, symbol, enc.order_of)
        assert early.book(symbol) == late.book(symbol)
    assert any(early.book(lst.inst.symbol)[0] for lst in enc.listings.values())


def test_moldudp64_with_loss_reordering_and_duplicates_rebuilds_the_book(morning) -> None:  # type: ignore[no-untyped-def]
    """With 2% of packets lost, 2% reordered and 2% duplicated, the client asks the retransmission
    server for every gap and delivers each message once, in order: the book is right at every trade."""
    day, events = morning

    async def run() -> tuple[list[bytes], list[Mark], ItchEncoder, MoldPublisher, MoldClient]:
        enc = ItchEncoder(day.session.tz, day.profile.ids)
        got: list[bytes] = []
        client = MoldClient(got.append, ("127.0.0.1", 0), retry=0.01)
        client_port = await client.start()
        pub = MoldPublisher(
            enc, [("127.0.0.1", client_port)], faults=Faults(loss=0.02, reorder=0.02, duplicate=0.02, seed=5),
            heartbeat=0.05,
        )  # fmt: skip
        pub_port = await pub.start()
        client.request_to = ("127.0.0.1", pub_port)
        marks = await publish(enc, events, chunk=100)
        pub.notify()
        await asyncio.wait_for(client.done.wait(), 60)
        client.close()
        await pub.stop()
        return got, marks, enc, pub, client

    got, marks, enc, pub, client = asyncio.run(run())
    assert pub.dropped > 0 and client.requests > 0 and pub.retransmissions > 0
    assert got == enc.messages
    assert check_stream(events, got, marks, enc.order_of) == []


def test_moldudp64_multicast_reaches_every_joined_client_and_each_recovers_its_own_gaps(morning) -> None:  # type: ignore[no-untyped-def]
    """The stream sent once to a multicast group reaches two clients that joined it on loopback;
    each drops its own 3% of the packets on the way in, asks from its own socket, and gets the
    answers (not the other client): both deliver the whole stream once, in order."""
    why = multicast_on_loopback()
    if why is not None:
        pytest.skip(why)
    day, events = morning
    group = "239.255.90.2"

    async def run() -> tuple[list[list[bytes]], ItchEncoder, MoldPublisher, list[MoldClient]]:
        port = free_udp_port()  # for the group's stream
        enc = ItchEncoder(day.session.tz, day.profile.ids)
        got: list[list[bytes]] = [[], []]
        clients = [
            MoldClient(got[k].append, ("127.0.0.1", 0), retry=0.01, faults=Faults(loss=0.03, seed=k + 1))
            for k in range(2)
        ]
        for c in clients:
            assert await c.start("127.0.0.1", port, group=group) == port
        pub = MoldPublisher(enc, [(group, port)], heartbeat=0.05)
        pub_port = await pub.start("127.0.0.1")
        for c in clients:
            c.request_to = ("127.0.0.1", pub_port)
        await publish(enc, events, chunk=100)
        pub.notify()
        for c in clients:
            await asyncio.wait_for(c.done.wait(), 60)
            c.close()
        await pub.stop()
        return got, enc, pub, clients

    got, enc, pub, clients = asyncio.run(run())
    assert all(c.dropped > 0 and c.requests > 0 for c in clients)
    assert pub.retransmissions > 0
    assert got[0] == enc.messages
    assert got[1] == enc.messages


def test_moldudp64_client_refuses_a_group_that_is_not_multicast_or_has_no_port() -> None:
    async def run() -> list[str]:
        errors = []
        for group, port in (("127.0.0.1", 30100), ("239.255.90.3", 0)):
            c = MoldClient(lambda _m: None, ("127.0.0.1", 0))
            try:
                await c.start("127.0.0.1", port, group=group)
            except ValueError as e:
                errors.append(str(e))
            finally:
                c.close()
        return errors

    assert asyncio.run(run()) == [
        "127.0.0.1 is not a multicast group address",
        "a multicast group needs its port, not 0",
    ]
