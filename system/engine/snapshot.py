"""The engine's state as a plain, canonical record, and back (for as-of replay from snapshots).

Orders are listed book by book (by instrument id) in priority order, so restoring them in list
order rebuilds the same queues; two engines with the same state give byte-identical snapshots.
"""

from __future__ import annotations

from heapq import heappush
from typing import TYPE_CHECKING

import msgspec

from system.engine.book import LEVEL, MARKET_Q, NOWHERE, PARKED, STOP, Book, Order
from system.engine.orders import OrderType, SelfTradePrevention, Side, TimeInForce
from system.engine.phases import Phase
from system.engine.refdata import Instrument

if TYPE_CHECKING:
    from system.engine.fold import EngineState


class OrderState(msgspec.Struct, array_like=True, frozen=True, gc=False):
    id: int
    account: str
    client_order_id: str
    side: Side
    type: OrderType
    price: int | None
    stop_price: int | None
    tif: TimeInForce
    expire_time: int | None
    post_only: bool
    display: int
    stp: SelfTradePrevention
    cross: bool
    time: int
    qty: int
    leaves: int
    visible: int
    where: int


class BookState(msgspec.Struct, frozen=True):
    instrument: Instrument
    phase: Phase
    last_price: int | None
    reference: int | None
    halt_until: int | None
    band_window: list[tuple[int, int]]
    orders: list[OrderState]  # bids best first, asks best first, market queues, stops, parked,
    # then orders still matching (NOWHERE): a snapshot taken between a command's events holds
    # the incoming market/IOC/FOK order whose trades and cancel are yet to be folded.


class EngineSnapshot(msgspec.Struct, frozen=True):
    next_order_id: int
    next_trade_id: int
    venue_phase: list[tuple[str, Phase]]
    overrides: list[tuple[str, Phase]]
    fx: list[tuple[str, str, int, int]]
    client_ids: list[tuple[str, str, int]]
    books: list[BookState]


def _state(o: Order) -> OrderState:
    return OrderState(
        o.id, o.account, o.cid, o.side, o.type, o.price, o.stop_price, o.tif, o.expire_time,
        o.post_only, o.display, o.stp, o.cross, o.time, o.qty, o.leaves, o.visible, o.where,
    )  # fmt: skip


def _book_orders(book: Book, stops: list[Order], matching: list[Order]) -> list[Order]:
    out: list[Order] = []
    for side in (book.bids, book.asks):
        for lvl in side.sorted_levels():
            out.extend(lvl.live_orders())
    out.extend(book.bids.market_orders())
    out.extend(book.asks.market_orders())
    out.extend(sorted(stops, key=lambda o: o.id))
    out.extend(book.parked)
    out.extend(sorted(matching, key=lambda o: o.id))
    return out


def _unplaced(orders: dict[int, Order]) -> tuple[dict[str, list[Order]], dict[str, list[Order]]]:
    """Per book, the open orders no queue holds: stops, and orders in the middle of matching."""
    stops: dict[str, list[Order]] = {}
    matching: dict[str, list[Order]] = {}
    for o in orders.values():
        if o.where == STOP:
            stops.setdefault(o.inst, []).append(o)
        elif o.where == NOWHERE:
            matching.setdefault(o.inst, []).append(o)
    return stops, matching


def snapshot(engine: EngineState) -> EngineSnapshot:
    books = []
    stops, matching = _unplaced(engine.orders)
    for _, b in sorted(engine.books.items()):
        books.append(
            BookState(
                b.inst,
                b.phase,
                b.last_price,
                b.reference,
                b.halt_until,
                list(b.band_window),
                [_state(o) for o in _book_orders(b, stops.get(b.id, []), matching.get(b.id, []))],
            )
        )
    return EngineSnapshot(
        engine.next_order_id,
        engine.next_trade_id,
        sorted(engine.venue_phase.items()),
        sorted(engine.overrides.items()),
        sorted((b, q, m, e) for (b, q), (m, e) in engine.fx.items()),
        sorted((a, c, i) for a, ids in engine.client_ids.items() for c, i in ids.items()),
        books,
    )


def restore(engine: EngineState, state: EngineSnapshot) -> None:
    """Replace ``engine``'s state with ``state`` (accepts the decoded msgspec form too)."""
    if not isinstance(state, EngineSnapshot):
        state = msgspec.convert(state, EngineSnapshot)
    engine.__init__(default_phase=engine.default_phase)  # type: ignore[misc]
    engine.next_order_id = state.next_order_id
    engine.next_trade_id = state.next_trade_id
    engine.venue_phase = dict(state.venue_phase)
    engine.overrides = dict(state.overrides)
    engine.fx = {(b, q): (m, e) for b, q, m, e in state.fx}
    for a, c, i in state.client_ids:
        engine.client_ids.setdefault(a, {})[c] = i
    for bs in state.books:
        engine._list(bs.instrument)
        book = engine.books[bs.instrument.id]
        book.phase = bs.phase
        book.last_price = bs.last_price
        if bs.reference is not None:
            engine._set_reference(book, bs.reference)
        book.halt_until = bs.halt_until
        book.band_window.extend((t, p) for t, p in bs.band_window)
        for s in bs.orders:
            o = Order(
                s.id, book.id, s.account, s.client_order_id, s.side, s.side is Side.BUY, s.type,
                s.price, s.stop_price, s.tif, s.expire_time, s.post_only, s.display, s.stp,
                s.cross, s.time, s.qty, s.leaves, s.visible,
            )  # fmt: skip
            engine.orders[o.id] = o
            engine.open_count[o.account] = engine.open_count.get(o.account, 0) + 1
            if o.tif is TimeInForce.GTD and o.expire_time is not None:
                heappush(engine.gtd, (o.expire_time, o.id))
            if o.tif is TimeInForce.ATO:
                book.ato[o.id] = o
            if s.where == LEVEL:
                engine._rest(book, o)
            elif s.where == MARKET_Q:
                o.where, o.live = MARKET_Q, True
                (book.bids if o.is_buy else book.asks).market.append(o)
            elif s.where == STOP:
                engine._park_stop(book, o)
            elif s.where == PARKED:
                o.where = PARKED
                book.parked.append(o)
            # NOWHERE: matching when the snapshot was taken; only ``engine.orders`` holds it.
