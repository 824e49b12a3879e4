"""The engine's read side: instrument and book views, open orders, the next expiry, snapshots.

Nothing here emits or changes state; ``MatchingEngine`` (``engine.py``) composes this mixin.
"""

from __future__ import annotations

from heapq import heappop
from typing import Any

from system.engine.book import SideBook
from system.engine.fold import EngineState
from system.engine.phases import Phase
from system.engine.snapshot import restore, snapshot
from system.engine.views import BookView, LevelView, OrderView, order_view


class EngineQueries(EngineState):
    """Read-only views over the books and orders, and the snapshot hooks."""

    def instrument_ids(self) -> list[str]:
        return sorted(self.books)

    def has_instrument(self, instrument: str) -> bool:
        return instrument in self.books

    def phase(self, instrument: str) -> Phase:
        return self.books[instrument].phase

    def book(self, instrument: str, *, orders: bool = True) -> BookView:
        """The book in priority order (``orders=False`` leaves the per-level order lists empty)."""
        b = self.books[instrument]

        def levels(side: SideBook) -> tuple[LevelView, ...]:
            return tuple(
                LevelView(
                    lvl.price,
                    lvl.shown,
                    lvl.qty,
                    lvl.count,
                    tuple(order_view(o) for o in lvl.live_orders()) if orders else (),
                )
                for lvl in side.sorted_levels()
            )

        return BookView(b.id, b.phase, levels(b.bids), levels(b.asks), b.last_price, b.reference)

    def order(self, order_id: int) -> OrderView | None:
        o = self.orders.get(order_id)
        return None if o is None else order_view(o)

    def open_orders(self, account: str | None = None, instrument: str | None = None) -> list[OrderView]:
        """Open orders (resting, stops, parked) by order id."""
        return [
            order_view(o)
            for oid, o in sorted(self.orders.items())
            if (account is None or o.account == account) and (instrument is None or o.inst == instrument)
        ]

    def last_price(self, instrument: str) -> int | None:
        return self.books[instrument].last_price

    def next_expiry(self) -> int | None:
        """When ``ExpireDue`` next has work: the earliest GTD expiry or end of a band halt."""
        gtd, orders = self.gtd, self.orders
        while gtd:  # drop index entries of orders that are gone (not state: a lazy index)
            o = orders.get(gtd[0][1])
            if o is not None and o.expire_time == gtd[0][0]:
                break
            heappop(gtd)
        # Asked after every command of a simulated day: one pass, no lists.
        best = gtd[0][0] if gtd else None
        for b in self.books.values():
            t = b.halt_until
            if t is not None and (best is None or t < best):
                best = t
        return best

    def snapshot_state(self) -> Any:
        return snapshot(self)

    def restore_state(self, state: Any) -> None:
        restore(self, state)
