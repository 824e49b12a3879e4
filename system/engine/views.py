"""Read-only pictures of a book for queries, BDD steps, the replayer and reports.

``qty`` on a level is the displayed quantity (iceberg reserves hidden); ``total`` includes them.
Orders are listed in priority order.
"""

from __future__ import annotations

from typing import Any

import msgspec

from system.engine.orders import OrderType, Side, TimeInForce
from system.engine.phases import Phase


class OrderView(msgspec.Struct, frozen=True):
    order_id: int
    instrument: str
    account: str
    client_order_id: str
    side: Side
    order_type: OrderType
    price: int | None
    qty: int  # total ordered
    leaves: int  # open
    visible: int  # shown now (leaves for a plain order)
    tif: TimeInForce
    stop_price: int | None = None


class LevelView(msgspec.Struct, frozen=True):
    price: int
    qty: int  # displayed
    total: int  # displayed + hidden
    count: int
    orders: tuple[OrderView, ...] = ()


class BookView(msgspec.Struct, frozen=True):
    instrument: str
    phase: Phase
    bids: tuple[LevelView, ...]  # best (highest) first
    asks: tuple[LevelView, ...]  # best (lowest) first
    last_price: int | None = None
    reference_price: int | None = None

    @property
    def best_bid(self) -> int | None:
        return self.bids[0].price if self.bids else None

    @property
    def best_ask(self) -> int | None:
        return self.asks[0].price if self.asks else None

    def crossed(self) -> bool:
        return bool(self.bids and self.asks and self.bids[0].price >= self.asks[0].price)


def order_view(o: Any) -> OrderView:
    """The read-only picture of an engine order (``system.engine.book.Order``)."""
    return OrderView(
        o.id,
        o.inst,
        o.account,
        o.cid,
        o.side,
        o.type,
        o.price,
        o.qty,
        o.leaves,
        o.visible,
        o.tif,
        o.stop_price,
    )
