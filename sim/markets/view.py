"""What agents see of the market: the matching engine's books and their own orders.

This is the one place the simulator reads engine state directly (a market-data feed with no
delay, and the agent's own order status, as a broker's drop copy would give it). Reads only: every
change still goes through ``World.execute``. If the engine's internals move, only this file changes.
"""

from __future__ import annotations

from typing import Any

from system.engine import Phase


class OrderHandle:
    """A live view of one of the agent's orders: filled = qty - leaves, kept after it closes."""

    __slots__ = ("_o", "order_id")

    def __init__(self, order_id: int, o: Any) -> None:
        self.order_id = order_id
        self._o = o

    @property
    def leaves(self) -> int:
        return int(self._o.leaves)

    @property
    def filled(self) -> int:
        return int(self._o.qty - self._o.leaves)

    @property
    def price(self) -> int:
        return int(self._o.price)


class MarketView:
    __slots__ = ("engine", "world")

    def __init__(self, world: Any) -> None:
        self.world = world
        self.engine: Any = world.engine

    def refresh(self) -> None:
        """Pick up a rebuilt engine (the runtime rebuilds its components after a failed command)."""
        self.engine = self.world.engine

    def has(self, instrument: str) -> bool:
        return instrument in self.engine.books

    def phase(self, instrument: str) -> Phase:
        return self.engine.books[instrument].phase  # type: ignore[no-any-return]

    def touch(self, instrument: str) -> tuple[int | None, int | None]:
        """(best bid, best ask)."""
        b = self.engine.books[instrument]
        return b.bids.best(), b.asks.best()

    def level_qty(self, instrument: str, price: int, bid: bool) -> int:
        side = self.engine.books[instrument].bids if bid else self.engine.books[instrument].asks
        lvl = side.levels.get(price)
        return 0 if lvl is None else int(lvl.shown)

    def limits(self, instrument: str) -> tuple[int, int | None]:
        """Daily price limits (low, high); (0, None) without limits."""
        b = self.engine.books[instrument]
        return b.lo_limit, b.hi_limit

    def last_price(self, instrument: str) -> int | None:
        return self.engine.books[instrument].last_price  # type: ignore[no-any-return]

    def reference(self, instrument: str) -> int | None:
        return self.engine.books[instrument].reference  # type: ignore[no-any-return]

    def crossed(self, instrument: str) -> bool:
        return bool(self.engine.books[instrument].crossed())

    def handle(self, account: str, client_order_id: str) -> OrderHandle | None:
        """The order just submitted as ``client_order_id``, or None if it was rejected."""
        ids = self.engine.client_ids.get(account)
        oid = None if ids is None else ids.get(client_order_id)
        if oid is None:
            return None
        o = self.engine.orders.get(oid)
        if o is None:
            return None  # filled or cancelled at once: an aggressive order that traded in full
        return OrderHandle(oid, o)

    def track(self, h: OrderHandle) -> bool:
        """Follow ``h`` to the engine's current record of it (a replace that loses priority makes a
        new one); False once the order is closed (filled, cancelled or expired)."""
        o = self.engine.orders.get(h.order_id)
        if o is None:
            return False
        h._o = o
        return True
