"""In-memory book structures, built for the hot path.

A side keeps a dict of price levels and a heap of prices (negated for bids) with lazy deletion:
a price whose level emptied stays in the heap until it reaches the top. A level keeps a deque of
orders in time priority; a cancelled order is marked dead and skipped when it reaches the head,
so cancels are O(1). Only appliers (``fold.py``) change these objects.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from heapq import heappop
from itertools import pairwise

import msgspec

from system.engine.orders import OrderType, SelfTradePrevention, Side, TimeInForce
from system.engine.phases import Phase
from system.engine.refdata import Instrument

# Where an open order is.
NOWHERE = 0  # an incoming market/IOC/FOK order while it matches
LEVEL = 1  # resting on a price level
STOP = 2  # waiting for its stop price
PARKED = 3  # an at-the-close order waiting for the closing auction
MARKET_Q = 4  # a market order waiting for an auction

UNBOUNDED = 1 << 62  # an upper bound standing for "none" in the plain-order checks


class Order(msgspec.Struct, gc=False):
    """An open order. ``gc=False``: it refers only to strings, ints and enums (never to a book or a
    level), so it cannot be part of a reference cycle and the cycle collector never scans it;
    with hundreds of thousands of resting orders that is most of the collector's work saved."""

    id: int
    inst: str
    account: str
    cid: str
    side: Side
    is_buy: bool
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
    visible: int  # shown now: min(display, leaves) for an iceberg, else leaves
    where: int = NOWHERE
    live: bool = False  # True while it is a valid entry of a level's queue / a market queue

    def copy(self) -> Order:
        return msgspec.structs.replace(self)


class Level:
    __slots__ = ("count", "dead", "price", "qty", "queue", "shown")

    def __init__(self, price: int) -> None:
        self.price = price
        self.queue: deque[Order] = deque()
        self.qty = 0  # open quantity of live orders (hidden included)
        self.shown = 0  # displayed quantity
        self.count = 0  # live orders
        self.dead = 0  # cancelled entries still in the queue (compacted when they pile up)

    def head(self) -> Order:
        """The first live order (the level must have one); drops dead entries on the way."""
        q = self.queue
        o = q[0]
        while not o.live:
            q.popleft()
            o = q[0]
        return o

    def live_orders(self) -> list[Order]:
        return [o for o in self.queue if o.live]


class SideBook:
    __slots__ = ("heap", "inheap", "is_bid", "levels", "market")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.levels: dict[int, Level] = {}
        self.heap: list[int] = []  # prices, negated for bids
        self.inheap: set[int] = set()  # prices present in the heap (to push each once)
        self.market: deque[Order] = deque()  # market orders waiting for an auction

    def level_of(self, o: Order) -> Level:
        return self.levels[o.price]  # type: ignore[index]

    def best(self) -> int | None:
        heap, levels = self.heap, self.levels
        while heap:
            p = -heap[0] if self.is_bid else heap[0]
            if p in levels:
                return p
            heappop(heap)
            self.inheap.discard(p)
        return None

    def sorted_levels(self) -> list[Level]:
        """Levels best first (the heap is only an index; this sorts the live prices)."""
        return [self.levels[p] for p in sorted(self.levels, reverse=self.is_bid)]

    def market_orders(self) -> list[Order]:
        return [o for o in self.market if o.live]


class Book:
    __slots__ = (
        "asks",
        "ato",
        "band_window",
        "bids",
        "fixed_tick",
        "halt_until",
        "hi_limit",
        "hi_ok",
        "id",
        "inst",
        "last_price",
        "lo_limit",
        "lo_ok",
        "lot",
        "parked",
        "phase",
        "plain",
        "qmax",
        "qmin",
        "reference",
        "stops_buy",
        "stops_sell",
        "tick_froms",
        "tick_hi",
        "tick_last",
        "tick_lo",
        "tick_values",
        "venue",
    )

    def __init__(self, inst: Instrument, phase: Phase) -> None:
        self.inst = inst
        self.id = inst.id
        self.venue = inst.venue
        self.fixed_tick = inst.tick_table[0][1] if len(inst.tick_table) == 1 else 0  # 0: tiered
        # A tiered table as two lists for a bisect (a replace checks the tick of its new price);
        # empty when the rows do not rise, and then ``tick_at`` asks the instrument.
        froms = [frm for frm, _ in inst.tick_table]
        rising = all(a < b for a, b in pairwise(froms))
        self.tick_froms: list[int] = froms if rising and froms else []
        self.tick_values: list[int] = [t for _, t in inst.tick_table] if self.tick_froms else []
        self.tick_lo, self.tick_hi, self.tick_last = 0, 0, 0  # (lo, hi] -> tick; empty at first
        self.bids = SideBook(True)
        self.asks = SideBook(False)
        self.phase = phase
        self.last_price: int | None = None
        self.reference: int | None = None
        self.lo_limit = 0  # daily limits (0 / None: none)
        self.hi_limit: int | None = None
        # For the inline check of plain limit orders (engine._submit), derived once: the price
        # window within the daily limits (kept with them by the fold), lot and quantity bounds,
        # and whether a fixed tick and no band make the tick check one modulo.
        self.lo_ok = 1
        self.hi_ok = UNBOUNDED
        self.plain = bool(self.fixed_tick) and inst.price_band is None
        self.lot = inst.lot_size
        self.qmin = max(inst.min_qty, 1)
        self.qmax = inst.max_qty or UNBOUNDED
        self.band_window: deque[tuple[int, int]] = deque()  # (time, price) of recent trades
        self.halt_until: int | None = None
        self.stops_buy: list[tuple[int, int]] = []  # (stop, order id): lowest triggers first
        self.stops_sell: list[tuple[int, int]] = []  # (-stop, order id): highest first
        self.parked: list[Order] = []  # ATC orders until the closing auction
        self.ato: dict[int, Order] = {}  # open at-the-open orders by id

    def tick_at(self, price: int) -> int:
        """``inst.tick_at(price)``: the tick of the last row starting below ``price``."""
        if self.fixed_tick:
            return self.fixed_tick
        if self.tick_lo < price <= self.tick_hi:  # the band found last (quotes move a tick or two)
            return self.tick_last
        froms = self.tick_froms
        if not froms:
            return self.inst.tick_at(price)
        i = bisect_left(froms, price)
        if not i:
            return self.tick_values[0]
        self.tick_lo = froms[i - 1]
        self.tick_hi = froms[i] if i < len(froms) else UNBOUNDED
        self.tick_last = t = self.tick_values[i - 1]
        return t

    def band_reference(self, now: int) -> int | None:
        """The dynamic band's centre: the oldest trade in the window, else the last, else the reference."""
        band = self.inst.price_band
        if band is None:
            return None
        cutoff = now - band.window_ns
        for t, p in self.band_window:
            if t >= cutoff:
                return p
        return self.last_price if self.last_price is not None else self.reference

    def band_bounds(self, now: int) -> tuple[int, int] | None:
        band = self.inst.price_band
        ref = self.band_reference(now)
        if band is None or ref is None:
            return None
        w = ref * band.percent_bp // 10_000
        return ref - w, ref + w

    def side_of(self, o: Order) -> SideBook:
        return self.bids if o.is_buy else self.asks

    def crossed(self) -> bool:
        b, a = self.bids.best(), self.asks.best()
        return b is not None and a is not None and b >= a
