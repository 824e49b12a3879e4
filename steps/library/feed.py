"""Steps about the market-data feed a subscriber receives.

The feed is ITCH 5.0 encoded from the log the driver reaches (``driver.events()``, so the steps
work with the in-process driver and with a driver talking to ``chronex serve``), sent over
MoldUDP64 on loopback UDP with the loss, reordering and duplication the scenario asked for, gaps
filled by the retransmission server, and rebuilt into a subscriber's book. Each Then step builds
the feed afresh from the whole log at that moment.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal, InvalidOperation
from typing import Any

from steps import values as V
from steps.context import Scenario
from steps.errors import StepInputError
from steps.registry import given, then
from system.engine import Instrument
from system.gateways.itch import FeedBook, ItchEncoder, decode
from system.gateways.itch.mold import Faults, MoldClient, MoldPublisher
from system.gateways.itch.verify import Side, diff, feed_sides

_FAULTS = {"lost": "loss", "duplicated": "duplicate", "reordered": "reorder"}


class Feed:
    def __init__(self, enc: ItchEncoder, book: FeedBook, received: list[bytes], mold: MoldClient) -> None:
        self.enc = enc
        self.book = book
        self.received = received
        self.mold = mold


@given("{pct:Word}% of MoldUDP64 packets are {what:Word}", "Given 2% of MoldUDP64 packets are lost")
def mold_faults(ctx: Scenario, pct: str, what: str) -> None:
    """Faults on the feed's MoldUDP64 stream (lost, duplicated or reordered), drawn per packet from
    the scenario's seed; the subscriber must still rebuild the book through retransmission."""
    if what not in _FAULTS:
        raise StepInputError(f"MoldUDP64 packets can be lost, duplicated or reordered, not {what!r}")
    try:
        p = Decimal(pct)
    except InvalidOperation:
        raise StepInputError(f"{pct!r}% is not a percentage") from None
    if not 0 <= p < 100:
        raise StepInputError(f"{pct}% must be at least 0 and below 100")
    ctx.bag.setdefault("feed.faults", {})[_FAULTS[what]] = float(p / 100)


def feed(ctx: Scenario) -> Feed:
    """The feed as a subscriber receives it now."""
    enc = ItchEncoder(ctx.zone().key, sorted(ctx.instruments))
    for ev in ctx.system().events(1):
        enc.handle(ev)
    enc.finish()
    faults = Faults(seed=ctx.seed, **ctx.bag.get("feed.faults", {}))
    received, client = asyncio.run(_over_mold(enc, faults))
    book = FeedBook()
    for msg in received:
        book.apply(msg)
    return Feed(enc, book, received, client)


async def _over_mold(enc: ItchEncoder, faults: Faults) -> tuple[list[bytes], MoldClient]:
    got: list[bytes] = []
    client = MoldClient(got.append, ("127.0.0.1", 0), retry=0.005)
    port = await client.start()
    pub = MoldPublisher(enc, [("127.0.0.1", port)], faults=faults, heartbeat=0.02)
    client.request_to = ("127.0.0.1", await pub.start())
    try:
        await asyncio.wait_for(client.done.wait(), 30)
    finally:
        client.close()
        await pub.stop()
    return got, client


def _scale(inst: Instrument) -> int:
    return int(Decimal(inst.price_increment) * 10_000)


def _engine_sides(ctx: Scenario, inst: Instrument) -> tuple[Side, Side]:
    view = ctx.system().book(inst.id)
    scale = _scale(inst)

    def side(levels: Any) -> Side:
        out: Side = []
        for lv in levels:
            orders = [(o.order_id, o.visible) for o in lv.orders if o.visible > 0]
            if orders:
                out.append((lv.price * scale, orders))
        return out

    return side(view.bids), side(view.asks)


@then(
    "the feed subscriber's book for {ref:Ref} equals the engine's",
    "Then the feed subscriber's book for XTKS:7203 equals the engine's",
)
def feed_book_equals(ctx: Scenario, ref: str) -> None:
    """Order by order, in priority order, with displayed quantities: what a subscriber rebuilt from
    the MoldUDP64 stream equals the engine's book."""
    inst = ctx.inst(ref)
    f = feed(ctx)
    problem = diff(_engine_sides(ctx, inst), feed_sides(f.book, inst.symbol, f.enc.order_of))
    assert problem is None, f"the feed subscriber's {inst.id} book differs: {problem}"
    assert f.received == f.enc.messages


@then(
    "the feed sent an Add Order for {side:Word} {qty:Qty} {ref:Ref} at {price:Price}",
    "Then the feed sent an Add Order for buy 100 XTKS:7203 at 2500",
)
def feed_sent_add(ctx: Scenario, side: str, qty: str, ref: str, price: str) -> None:
    """An Add Order (A or F) with that side, displayed quantity, stock and price went out."""
    inst = ctx.inst(ref)
    want_side = b"B" if V.side(side).name == "BUY" else b"S"
    want = (want_side, V.qty(inst, qty), inst.symbol, V.price(inst, price) * _scale(inst))
    f = feed(ctx)
    adds = [decode(m) for m in f.received if m[:1] in (b"A", b"F")]
    seen = [(a[5], a[6], a[7].decode().strip(), a[8]) for a in adds]
    assert want in seen, f"no Add Order {want} among the feed's {len(seen)} adds: {seen[-10:]}"


@then(
    "the feed sent a Cross Trade for {qty:Qty} {ref:Ref} at {price:Price}",
    "Then the feed sent a Cross Trade for 500 XTKS:7203 at 2500",
)
def feed_sent_cross(ctx: Scenario, qty: str, ref: str, price: str) -> None:
    """A Cross Trade (Q): an auction's uncross with that quantity and price."""
    inst = ctx.inst(ref)
    want = (V.qty(inst, qty), inst.symbol, V.price(inst, price) * _scale(inst))
    f = feed(ctx)
    seen = [(q[4], q[5].decode().strip(), q[6]) for q in (decode(m) for m in f.received if m[:1] == b"Q")]
    assert want in seen, f"no Cross Trade {want} on the feed; crosses sent: {seen}"
