"""Events the matching engine emits; its state (and every market-data view) is a fold of them.

Streams: ``book/<instrument>`` for order, trade, auction, halt and reference-price events;
``refdata/<instrument>`` for listings; ``fx/<base>/<quote>`` for FX rates.

Records are ``gc=False``: frozen and holding only scalars, strings and tuples, they cannot form
reference cycles, and keeping millions of them out of the cycle collector cuts its pauses.
"""

from __future__ import annotations

from system.engine.orders import (
    CancelReason,
    ExpireReason,
    OrderType,
    RejectReason,
    SelfTradePrevention,
    Side,
    TimeInForce,
)
from system.engine.phases import Phase
from system.engine.refdata import Instrument
from system.eventlog.records import Event


class InstrumentListed(Event, frozen=True, gc=False):
    instrument: Instrument

    def stream(self) -> str:
        return f"refdata/{self.instrument.id}"


class OrderAccepted(Event, frozen=True, gc=False):
    """The full order as accepted; ``order_id`` comes from the engine's folded counter."""

    order_id: int
    instrument: str
    account: str
    client_order_id: str
    side: Side
    qty: int
    order_type: OrderType
    price: int | None
    stop_price: int | None
    tif: TimeInForce
    expire_time: int | None
    post_only: bool
    display_qty: int
    stp: SelfTradePrevention
    cross_currency: bool
    time: int  # ns, the command's time

    def stream(self) -> str:
        return f"book/{self.instrument}"


class OrderRejected(Event, frozen=True, gc=False):
    """A command refused: nothing changed. ``field``/``value`` name what was wrong."""

    command: str  # "SubmitOrder", "CancelOrder", ...
    instrument: str
    account: str
    client_order_id: str
    reason: RejectReason
    text: str
    field: str = ""
    value: str = ""
    order_id: int | None = None

    def stream(self) -> str:
        return f"book/{self.instrument}"


class TradeExecuted(Event, frozen=True, gc=False):
    """One fill at ``price`` in ``instrument`` (the resting order's book).

    For a cross-currency fill, ``cross_instrument``/``cross_price`` are the aggressor's book and
    the price converted into it, and the rate is ``fx_mantissa * 10**fx_exponent`` ``fx_quote``
    per ``fx_base``. Auction fills have ``aggressor`` None and no aggressor/resting ids.
    """

    trade_id: int
    instrument: str
    price: int
    qty: int
    aggressor: Side | None
    buy_order_id: int
    sell_order_id: int
    buy_account: str
    sell_account: str
    resting_order_id: int | None
    aggressor_order_id: int | None
    time: int
    cross_instrument: str | None = None
    cross_price: int | None = None
    fx_base: str = ""
    fx_quote: str = ""
    fx_mantissa: int = 0
    fx_exponent: int = 0

    def stream(self) -> str:
        return f"book/{self.instrument}"


class OrderCancelled(Event, frozen=True, gc=False):
    order_id: int
    instrument: str
    account: str
    client_order_id: str
    qty: int  # the open quantity cancelled
    reason: CancelReason

    def stream(self) -> str:
        return f"book/{self.instrument}"


class OrderReduced(Event, frozen=True, gc=False):
    """Open quantity taken away without a trade (STP DECREMENT); ``leaves`` is what stays open."""

    order_id: int
    instrument: str
    account: str
    qty: int
    leaves: int
    reason: CancelReason

    def stream(self) -> str:
        return f"book/{self.instrument}"


class OrderReplaced(Event, frozen=True, gc=False):
    order_id: int
    instrument: str
    account: str
    price: int | None
    qty: int  # new total quantity (filled + open)
    leaves: int  # new open quantity
    display_qty: int
    keeps_priority: bool

    def stream(self) -> str:
        return f"book/{self.instrument}"


class OrderExpired(Event, frozen=True, gc=False):
    order_id: int
    instrument: str
    account: str
    client_order_id: str
    qty: int
    reason: ExpireReason

    def stream(self) -> str:
        return f"book/{self.instrument}"


class StopTriggered(Event, frozen=True, gc=False):
    """A stop's condition met: it enters the book as a market (STOP) or limit (STOP_LIMIT) order."""

    order_id: int
    instrument: str
    trigger_price: int

    def stream(self) -> str:
        return f"book/{self.instrument}"


class IcebergReplenished(Event, frozen=True, gc=False):
    """An iceberg's shown part ran out: ``display`` more is shown at the back of its level."""

    order_id: int
    instrument: str
    display: int

    def stream(self) -> str:
        return f"book/{self.instrument}"


class AuctionUncrossed(Event, frozen=True, gc=False):
    """A call auction ended. ``qty`` 0 means nothing crossed (``price`` then None)."""

    instrument: str
    price: int | None
    qty: int
    imbalance_side: Side | None
    imbalance_qty: int
    phase: Phase  # the auction phase that ended

    def stream(self) -> str:
        return f"book/{self.instrument}"


class InstrumentHalted(Event, frozen=True, gc=False):
    instrument: str
    reason: str
    until: int  # ns; ExpireDue at or after it resumes the instrument
    trigger_price: int
    reference_price: int

    def stream(self) -> str:
        return f"book/{self.instrument}"


class InstrumentResumed(Event, frozen=True, gc=False):
    instrument: str
    phase: Phase  # the phase it resumes into (the venue's)

    def stream(self) -> str:
        return f"book/{self.instrument}"


class ReferencePriceSet(Event, frozen=True, gc=False):
    instrument: str
    price: int

    def stream(self) -> str:
        return f"book/{self.instrument}"


class FxRateSet(Event, frozen=True, gc=False):
    """1 ``base`` = ``mantissa * 10**exponent`` ``quote``. Pricing emits it; the engine folds it."""

    base: str
    quote: str
    mantissa: int
    exponent: int

    def stream(self) -> str:
        return f"fx/{self.base}/{self.quote}"
