"""In-memory book structures, built for the hot path.

A side keeps a dict of price levels and a heap of prices (negated for bids) with lazy deletion:
a price whose level emptied stays in the heap until it reaches the top. A level keeps a deque of
orders in time priority; a cancelled order is marked dead and skipped when it reaches the head,
so cancels are O(1). Only appliers (``fold.py``) change these objects.
"""

from __future__ import annotations

from collections import deque
from heapq import heappop
from typing import Any

from system.engine.orders import OrderType, SelfTradePrevention, TimeInForce
from system.engine.phases import Phase
from system.engine.refdata import Instrument

# Where an open order is.
NOWHERE = 0  # an incoming market/IOC/FOK order while it matches
LEVEL = 1  # resting on a price level
STOP = 2  # waiting for its stop price
PARKED = 3  # an at-the-close order waiting for the closing auction
MARKET_Q = 4  # a market order waiting for an auction


class Order:
    __slots__ = (
        "account",
        "book",
        "cid",
        "cross",
        "display",
        "expire_time",
        "id",
        "is_buy",
        "leaves",
        "level",
        "live",
        "post_only",
        "price",
        "qty",
        "side",
        "stop_price",
        "stp",
        "tif",
        "time",
        "type",
        "visible",
        "where",
    )

    def __init__(
        self,
        id: int,
        book: Book,
        account: str,
        cid: str,
        side: Any,
        is_buy: bool,
        type: OrderType,
        price: int | None,
        stop_price: int | None,
        tif: TimeInForce,
        expire_time: int | None,
        post_only: bool,
        display: int,
        stp: SelfTradePrevention,
        cross: bool,
        time: int,
        qty: int,
        leaves: int,
    ) -> None:
        self.id = id
        self.book = book
        self.account = account
        self.cid = cid
        self.side = side
        self.is_buy = is_buy
        self.type = type
        self.price = price
        self.stop_price = stop_price
        self.tif = tif
        self.expire_time = expire_time
        self.post_only = post_only
        self.display = display
        self.stp = stp
        self.cross = cross
        self.time = time
        self.qty = qty
        self.leaves = leaves
        self.visible = min(display, leaves) if display else leaves
        self.where = NOWHERE
        self.level: Level | None = None
        self.live = False  # True while it is a valid entry of level.queue / a market queue

    def copy(self) -> Order:
        o = Order(
            self.id, self.book, self.account, self.cid, self.side, self.is_buy, self.type,
            self.price, self.stop_price, self.tif, self.expire_time, self.post_only,
            self.display, self.stp, self.cross, self.time, self.qty, self.leaves,
        )  # fmt: skip
        o.visible = self.visible
        return o


class Level:
    __slots__ = ("count", "price", "qty", "queue", "shown")

    def __init__(self, price: int) -> None:
        self.price = price
        self.queue: deque[Order] = deque()
        self.qty = 0  # open quantity of live orders (hidden included)
        self.shown = 0  # displayed quantity
        self.count = 0  # live orders

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
        "id",
        "inst",
        "last_price",
        "lo_limit",
        "parked",
        "phase",
        "reference",
        "stops_buy",
        "stops_sell",
        "venue",
    )

    def __init__(self, inst: Instrument, phase: Phase) -> None:
        self.inst = inst
        self.id = inst.id
        self.venue = inst.venue
        self.fixed_tick = inst.tick_table[0][1] if len(inst.tick_table) == 1 else 0  # 0: tiered
        self.bids = SideBook(True)
        self.asks = SideBook(False)
        self.phase = phase
        self.last_price: int | None = None
        self.reference: int | None = None
        self.lo_limit = 0  # daily limits (0 / None: none)
        self.hi_limit: int | None = None
        self.band_window: deque[tuple[int, int]] = deque()  # (time, price) of recent trades
        self.halt_until: int | None = None
        self.stops_buy: list[tuple[int, int]] = []  # (stop, order id): lowest triggers first
        self.stops_sell: list[tuple[int, int]] = []  # (-stop, order id): highest first
        self.parked: list[Order] = []  # ATC orders until the closing auction
        self.ato: dict[int, Order] = {}  # open at-the-open orders by id

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

    def crossed(self) -> bool:
        b, a = self.bids.best(), self.asks.best()
        return b is not None and a is not None and b >= a
