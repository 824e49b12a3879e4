"""The hedging engine's records.

Commands are its inputs: what a hedge venue reported (fills, rejects, an order's end, the venue
going down or coming back) and what an operator asks. Venue adapters never change state: they
turn what they hear into these commands, so the log holds every input and the engine's decisions
replay from it. Events are its decisions and their outcomes.

Quantities of hedge orders count the route's ``qty_increment`` lots; fill prices count its
``price_increment``; exposure is an int of the asset's unit (``HedgingConfig.unit``) and values an
int of the base currency's money unit.
"""

from __future__ import annotations

from system.engine.orders import Side
from system.eventlog.records import Command, Event

# -- inputs from venues ----------------------------------------------------------------------------


class RecordHedgeFill(Command, frozen=True, gc=False):
    """A venue filled ``qty`` lots of hedge order ``order_id`` at ``price``; a repeated
    ``exec_id`` (a resent report) is ignored."""

    order_id: str
    qty: int
    price: int
    exec_id: str

    def stream(self) -> str:
        return "input/hedge"


class RecordHedgeReject(Command, frozen=True, gc=False):
    """A venue refused hedge order ``order_id``."""

    order_id: str
    text: str = ""

    def stream(self) -> str:
        return "input/hedge"


class RecordHedgeDone(Command, frozen=True, gc=False):
    """A venue ended hedge order ``order_id`` with its remainder unfilled (an IOC remainder
    cancelled, a cancel confirmed)."""

    order_id: str
    text: str = ""

    def stream(self) -> str:
        return "input/hedge"


class RecordVenueDown(Command, frozen=True, gc=False):
    """A hedge venue cannot be reached (disconnect, logon refused, a send that failed)."""

    venue: str
    text: str = ""

    def stream(self) -> str:
        return "input/hedge"


class RecordVenueUp(Command, frozen=True, gc=False):
    venue: str

    def stream(self) -> str:
        return "input/hedge"


# -- inputs from operators ---------------------------------------------------------------------------


class ResumeHedging(Command, frozen=True, gc=False):
    """Clear a halt (``asset`` empty: every asset) and forget venues that failed; hedge again."""

    asset: str = ""

    def stream(self) -> str:
        return "input/hedge"


class EvaluateHedges(Command, frozen=True, gc=False):
    """Look at every asset's exposure now (the engine also does so on every input that moves it)."""

    def stream(self) -> str:
        return "input/hedge"


# -- decisions and outcomes -------------------------------------------------------------------------


class HedgeOrderPlaced(Event, frozen=True, gc=False):
    """The engine decided to send this order; the hedge desk sends it to ``venue``."""

    order_id: str
    asset: str
    venue: str
    instrument: str
    side: Side
    qty: int  # lots of the route's qty_increment
    lot_units: int  # asset units per lot
    reason: str

    def stream(self) -> str:
        return f"hedge/{self.asset}"


class HedgeOrderFilled(Event, frozen=True, gc=False):
    order_id: str
    asset: str
    venue: str
    qty: int
    price: int
    exec_id: str
    filled: int  # lots filled so far
    leaves: int  # lots still working (0: the order is done)

    def stream(self) -> str:
        return f"hedge/{self.asset}"


class HedgeOrderRejected(Event, frozen=True, gc=False):
    order_id: str
    asset: str
    venue: str
    text: str

    def stream(self) -> str:
        return f"hedge/{self.asset}"


class HedgeOrderDone(Event, frozen=True, gc=False):
    """The order ended with ``qty - filled`` lots unfilled; ``text`` says why (venue cancel,
    venue down, kill switch)."""

    order_id: str
    asset: str
    venue: str
    filled: int
    text: str

    def stream(self) -> str:
        return f"hedge/{self.asset}"


class HedgeCancelRequested(Event, frozen=True, gc=False):
    """The engine wants a working order cancelled (the kill switch); the desk asks the venue."""

    order_id: str
    asset: str
    venue: str
    reason: str

    def stream(self) -> str:
        return f"hedge/{self.asset}"


class HedgeExposure(Event, frozen=True, gc=False):
    """The house's net exposure in ``asset`` after a change: ``position`` (asset units, filled),
    ``pending`` (asset units of working hedge orders, signed) and the position's ``value`` in
    ``currency`` money units (None: no price to value it)."""

    asset: str
    position: int
    pending: int
    value: int | None
    currency: str

    def stream(self) -> str:
        return f"hedge/{self.asset}"


class HedgeVenueDown(Event, frozen=True, gc=False):
    venue: str
    text: str

    def stream(self) -> str:
        return "hedge/venues"


class HedgeVenueUp(Event, frozen=True, gc=False):
    venue: str

    def stream(self) -> str:
        return "hedge/venues"


class HedgeHalted(Event, frozen=True, gc=False):
    """An account event: the engine stopped hedging ``asset`` and says why (no venue left, no
    price, a lot too coarse for the threshold). Exposure may now stay past the threshold."""

    account: str
    asset: str
    reason: str

    def stream(self) -> str:
        return f"account/{self.account}"


class HedgeResumed(Event, frozen=True, gc=False):
    account: str
    asset: str

    def stream(self) -> str:
        return f"account/{self.account}"


class HedgeCommandRejected(Event, frozen=True, gc=False):
    """An input the engine could not use (an unknown order id); nothing changed."""

    command: str
    text: str

    def stream(self) -> str:
        return "hedge/venues"
