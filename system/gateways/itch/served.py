"""A served day's feed end to end: ``chronex serve`` on a day's log publishes it over SoupBinTCP
and MoldUDP64; one subscriber on each rebuilds every book from the feed alone; when both have the
whole stream, each book equals the server's (asked over its admin port) level by level, with the
displayed shares of every order in priority order.

How a subscriber knows it has everything without a shared count: a GLIMPSE snapshot taken once
the server is ready names the next live sequence number (the server's feed has caught up with the
log before it announces its ports). After the comparison the server is stopped and both
subscribers must see End of Session. ``bench/feed_day.py`` runs this on a whole day,
``tests/e2e/test_feed_day.py`` on a morning.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from system.engine.refdata import Instrument
from system.gateways.itch.encoder import ItchEncoder
from system.gateways.itch.feedbook import FeedBook
from system.gateways.itch.mold import Faults, MoldClient
from system.gateways.itch.soup import SoupClient
from system.gateways.itch.verify import check_stream, record_marks
from system.server.admin import AdminClient
from system.server.process import ServeProcess

Shown = list[tuple[int, list[int]]]  # (price, displayed shares of each order in priority order)


@dataclass
class ServedDay:
    messages: int = 0
    soup_seconds: float = 0.0  # from login to the last message
    mold_seconds: float = 0.0  # from the server's ready line to the last message
    mold_requests: int = 0
    mold_dropped: int = 0
    orders: int = 0  # displayed orders in the server's books at the end
    problems: list[str] = field(default_factory=list)
    ended: tuple[bool, bool] = (False, False)  # End of Session seen (SoupBinTCP, MoldUDP64)


def _against_the_log(
    log: Path, ids: list[str], soup_got: list[bytes], mold_got: list[bytes], every: int
) -> list[str]:
    from sim.clock import venue_calendar
    from sim.markets import load_profile
    from system.clock import WallClock
    from system.eventlog import open_log

    store = open_log(log, WallClock(), create=False, readonly=True)
    try:
        events = list(store.read(1))
    finally:
        store.close()
    enc = ItchEncoder(venue_calendar(load_profile("XTKS").calendar).tz, ids)
    marks = record_marks(events, enc)
    problems = []
    for name, got in (("SoupBinTCP", soup_got), ("MoldUDP64", mold_got[: len(soup_got)])):
        if got != enc.messages:
            first = next((i for i, (a, b) in enumerate(zip(got, enc.messages, strict=False)) if a != b), None)
            problems.append(f"{name} stream differs from the log's encoding (first at message {first})")
    problems += check_stream(events, soup_got, marks, enc.order_of, every=every)
    return problems


def _feed_shown(book: FeedBook, symbol: str) -> tuple[Shown, Shown]:
    bids, asks = book.book(symbol)
    return [(p, [q for _, q in os]) for p, os in bids], [(p, [q for _, q in os]) for p, os in asks]


async def run_served_day(
    log: Path,
    instruments: Sequence[Instrument],
    *,
    loss: float = 0.02,
    seed: int = 1,
    cwd: Path | None = None,
    every: int = 1,
) -> ServedDay:
    """Serve ``log`` (a finished day), subscribe over both transports (the MoldUDP64 subscriber
    drops ``loss`` of the packets it receives, by a seeded draw) and compare at the end; then the
    received streams against the log itself: byte for byte against the log encoded here (the feed
    is a function of the log), and the rebuilt books against the engine's at every ``every``-th
    trade (``verify.check_stream``). That covers the close, when the books are full: at the end of
    a day every DAY order has expired and the server's books are empty."""
    out = ServedDay()
    loop = asyncio.get_running_loop()  # its monotonic clock times the subscribers (no wall clock)
    soup_book, mold_book = FeedBook(), FeedBook()
    mold_count = [0]
    total = [0]
    mold_all = asyncio.Event()

    soup_got: list[bytes] = []
    mold_got: list[bytes] = []

    def on_mold(msg: bytes) -> None:
        mold_book.apply(msg)
        mold_got.append(msg)
        mold_count[0] += 1
        if total[0] and mold_count[0] >= total[0]:
            mold_all.set()

    mold = MoldClient(on_mold, ("127.0.0.1", 9), retry=0.02, faults=Faults(loss=loss, seed=seed))
    target = await mold.start()
    # The day's instruments, as the simulation listed them: the feed numbers stock locates over
    # the server's instrument list, and the check below encodes the log with this one.
    args = ["--venue", "XTKS", "--instruments", ",".join(i.symbol for i in instruments),
            "--log", str(log), "--itch-port", "0", "--glimpse-port", "0",
            "--mold-port", "0", "--mold-to", f"127.0.0.1:{target}"]  # fmt: skip
    srv = await asyncio.to_thread(ServeProcess, args, cwd=cwd, timeout=600)
    stream: AsyncIterator[bytes] | None = None
    soup = SoupClient()
    t_ready = loop.time()
    try:
        mold.request_to = ("127.0.0.1", srv.info["mold_port"])
        snap = FeedBook()
        g = SoupClient()
        await g.connect("127.0.0.1", srv.info["glimpse_port"])
        async for msg in g.messages():
            snap.apply(msg)
        assert snap.next_seq is not None
        total[0] = out.messages = snap.next_seq - 1
        if mold_count[0] >= total[0]:
            mold_all.set()

        t0 = loop.time()
        await soup.connect("127.0.0.1", srv.info["itch_port"], seq=1)
        stream = soup.messages()
        n = 0
        async for msg in stream:
            soup_book.apply(msg)
            soup_got.append(msg)
            n += 1
            if n >= total[0]:
                break
        out.soup_seconds = loop.time() - t0
        await asyncio.wait_for(mold_all.wait(), 600)
        out.mold_seconds = loop.time() - t_ready
        out.mold_requests, out.mold_dropped = mold.requests, mold.dropped

        admin = AdminClient("127.0.0.1", srv.admin_port)
        try:
            for inst in instruments:
                scale = int(Decimal(inst.price_increment) * 10_000)
                view = admin.book(inst.id)
                engine = tuple(
                    [(lv.price * scale, [o.visible for o in lv.orders if o.visible > 0]) for lv in side]
                    for side in (view.bids, view.asks)
                )
                engine = tuple([lv for lv in side if lv[1]] for side in engine)
                out.orders += sum(len(os) for side in engine for _, os in side)
                for name, fb in (("SoupBinTCP", soup_book), ("MoldUDP64", mold_book), ("GLIMPSE", snap)):
                    got = _feed_shown(fb, inst.symbol)
                    if got != engine:
                        out.problems.append(f"{name} book of {inst.id} differs from the server's")
        finally:
            admin.close()
    finally:
        # Keep reading while the server stops: it waits for its subscribers to read End of Session
        # and close; one that only read after the process had gone would meet a closed socket.
        rest: list[bytes] = []
        draining = asyncio.create_task(_drain(stream, rest)) if stream is not None else None
        rc = await asyncio.to_thread(srv.terminate)
        if rc != 0:
            out.problems.append(f"chronex serve exited with {rc}")
    # after the stop: End of Messages, then End of Session on both transports
    if draining is not None:
        cut = await draining
        if cut:
            out.problems.append(f"SoupBinTCP stream cut after the stop: {cut}")
    with_end = await _wait(mold.done, 10)
    mold.close()
    out.ended = (soup.ended and bool(rest) and rest[-1][:1] == b"S", with_end)
    if not out.ended[0]:
        out.problems.append(f"SoupBinTCP: {len(rest)} messages after the stop, no End of Session")
    ids = [i.id for i in instruments]
    out.problems += await asyncio.to_thread(_against_the_log, log, ids, soup_got, mold_got, every)
    return out


async def _drain(stream: AsyncIterator[bytes], into: list[bytes]) -> str:
    try:
        async for msg in stream:
            into.append(msg)
    except (ConnectionError, OSError) as e:
        return repr(e)
    return ""


async def _wait(ev: asyncio.Event, timeout: float) -> bool:
    try:
        await asyncio.wait_for(ev.wait(), timeout)
    except TimeoutError:
        return False
    return True
