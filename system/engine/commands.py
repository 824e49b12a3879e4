"""Commands the matching engine handles. Prices and quantities are int instrument units
(convert at the edge with ``system.engine.refdata``). ``ChangePhase`` lives in ``phases``.
Like the events, commands are ``gc=False`` (acyclic by construction)."""

from __future__ import annotations

from system.engine.orders import CancelReason, OrderType, SelfTradePrevention, Side, TimeInForce
from system.engine.refdata import Instrument
from system.eventlog.records import Command


class ListInstrument(Command, frozen=True, gc=False):
    instrument: Instrument

    def stream(self) -> str:
        return f"input/refdata/{self.instrument.id}"


class SubmitOrder(Command, frozen=True, gc=False):
    account: str
    client_order_id: str
    instrument: str
    side: Side
    qty: int
    order_type: OrderType = OrderType.LIMIT
    price: int | None = None  # LIMIT and STOP_LIMIT
    stop_price: int | None = None  # STOP and STOP_LIMIT
    tif: TimeInForce = TimeInForce.DAY
    expire_time: int | None = None  # GTD, ns
    post_only: bool = False
    display_qty: int = 0  # > 0: an iceberg showing this much at a time
    stp: SelfTradePrevention = SelfTradePrevention.NONE
    cross_currency: bool = False  # may match books of the same cross_group through FX

    def stream(self) -> str:
        return f"input/book/{self.instrument}"


class CancelOrder(Command, frozen=True, gc=False):
    """Cancel by ``order_id``, or by ``client_order_id`` when order_id is None."""

    account: str
    instrument: str
    order_id: int | None = None
    client_order_id: str = ""

    def stream(self) -> str:
        return f"input/book/{self.instrument}"


class ReplaceOrder(Command, frozen=True, gc=False):
    """Change a resting order's price and/or total quantity (FIX OrderQty: filled + open).

    Reducing the quantity keeps time priority; a price change or a larger quantity loses it.
    """

    account: str
    instrument: str
    order_id: int
    qty: int | None = None
    price: int | None = None
    display_qty: int | None = None

    def stream(self) -> str:
        return f"input/book/{self.instrument}"


class SetReferencePrice(Command, frozen=True, gc=False):
    """The base of daily limits and the auction's reference price (e.g. yesterday's close)."""

    instrument: str
    price: int

    def stream(self) -> str:
        return f"input/book/{self.instrument}"


class ExpireDue(Command, frozen=True, gc=False):
    """Expire GTD orders due at ``ctx.now`` and resume band halts whose time is up.

    Whoever drives the clock schedules it at ``engine.next_expiry()``.
    """

    def stream(self) -> str:
        return "input/engine"


class CancelAllOrders(Command, frozen=True, gc=False):
    """Cancel every open order of ``account`` (on ``instrument`` only, if given): the kill switch."""

    account: str
    instrument: str | None = None
    reason: CancelReason = CancelReason.KILL_SWITCH

    def stream(self) -> str:
        return f"input/account/{self.account}"
