"""Does a subscriber's book equal the engine's? The check behind the round-trip tests, the feed
steps and ``chronex feed``.

``record_marks`` encodes a log entry by entry and notes, at every trade, how many messages the feed
had made and which aggressor it was still holding back; ``check_stream`` then replays the log
through ``MarketData`` (the engine's own L3 view) beside a ``FeedBook`` fed with the messages a
client really received, and compares the two books at every trade.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import NamedTuple

from system.engine.events import InstrumentListed, TradeExecuted
from system.engine.marketdata import MarketData
from system.eventlog.codec import LoggedEvent
from system.gateways.itch.encoder import ItchEncoder
from system.gateways.itch.feedbook import FeedBook

Side = list[tuple[int, list[tuple[int, int]]]]


class Mark(NamedTuple):
    seq: int  # the trade's log seq
    sent: int  # feed messages made up to and including it
    pending: int | None  # an aggressor not yet shown


def record_marks(events: Iterable[LoggedEvent], enc: ItchEncoder) -> list[Mark]:
    marks: list[Mark] = []
    for ev in events:
        enc.handle(ev)
        if ev.type == "TradeExecuted":
            marks.append(Mark(ev.seq, enc.sent, enc.pending))
    enc.flush()
    return marks


def engine_sides(md: MarketData, inst: str, scale: int, exclude: int | None = None) -> tuple[Side, Side]:
    """The engine's displayed book as (price * scale, [(order id, shown)]) levels, best first."""
    view = md.book(inst)

    def side(levels: Sequence[object]) -> Side:
        out: Side = []
        for lv in levels:
            orders = [(o.order_id, o.visible) for o in lv.orders if o.visible > 0 and o.order_id != exclude]  # type: ignore[attr-defined]
            if orders:
                out.append((lv.price * scale, orders))  # type: ignore[attr-defined]
        return out

    return side(view.bids), side(view.asks)


def feed_sides(feed: FeedBook, symbol: str, order_of: dict[int, int]) -> tuple[Side, Side]:
    """The feed's book with references turned into engine order ids (-ref when unknown)."""
    bids, asks = feed.book(symbol)

    def side(levels: Side) -> Side:
        return [(p, [(order_of.get(r, -r), q) for r, q in orders]) for p, orders in levels]

    return side(bids), side(asks)


def diff(engine: tuple[Side, Side], feed: tuple[Side, Side]) -> str | None:
    for name, e, f in (("bid", engine[0], feed[0]), ("ask", engine[1], feed[1])):
        if e != f:
            for i in range(max(len(e), len(f))):
                el = e[i] if i < len(e) else None
                fl = f[i] if i < len(f) else None
                if el != fl:
                    return f"{name} level {i + 1}: engine {el}, feed {fl}"
    return None


def check_stream(
    events: Iterable[LoggedEvent],
    received: Sequence[bytes],
    marks: Sequence[Mark],
    order_of: dict[int, int],
    *,
    every: int = 1,
) -> list[str]:
    """Every trade at which the feed's book (from ``received``) differs from the engine's, and every
    trade whose prints do not add up to its quantity; empty when the stream is right. With
    ``every`` > 1 the books are compared at every ``every``-th trade and the last (a whole day's
    every trade takes minutes); the prints are checked at every trade."""
    by_seq = {mk.seq: mk for mk in marks}
    last = marks[-1].seq if marks else 0
    count = 0
    md = MarketData()
    feed = FeedBook()
    applied = 0
    scales: dict[str, tuple[str, int]] = {}
    problems: list[str] = []
    for ev in events:
        md.handle(ev)
        rec = ev.record
        if type(rec) is InstrumentListed:
            inst = rec.instrument
            scales[inst.id] = (inst.symbol, int(Decimal(inst.price_increment) * 10_000))
        if type(rec) is not TradeExecuted:
            continue
        mk = by_seq.get(ev.seq)
        if mk is None:
            problems.append(f"trade at seq {ev.seq} has no mark")
            continue
        if mk.sent > len(received):
            problems.append(f"trade at seq {ev.seq}: feed stopped at {len(received)} of {mk.sent} messages")
            break
        start = len(feed.tape)
        while applied < mk.sent:
            feed.apply(received[applied])
            applied += 1
        count += 1
        for inst_id, (symbol, scale) in (
            sorted(scales.items()) if count % every == 0 or ev.seq == last else ()
        ):
            d = diff(engine_sides(md, inst_id, scale, mk.pending), feed_sides(feed, symbol, order_of))
            if d is not None:
                problems.append(f"trade {rec.trade_id} (seq {ev.seq}) {inst_id}: {d}")
        side_ref = rec.resting_order_id if rec.aggressor is not None else rec.buy_order_id
        printed = sum(
            p.shares
            for p in feed.tape[start:]
            if p.match == rec.trade_id and (order_of.get(p.ref) == side_ref or (p.type == "P" and p.ref == 0))
        )
        if printed != rec.qty:
            problems.append(
                f"trade {rec.trade_id} (seq {ev.seq}): {printed} shares printed, traded {rec.qty}"
            )
    return problems
