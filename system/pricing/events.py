"""Commands the pricing engine takes and the events it emits. ``FxRateSet`` and
``ReferencePriceSet`` are the matching engine's (``system.engine.events``): pricing emits the first
and drives the second through ``SetReferencePrice``.

Prices are int units of the instrument's ``price_increment``; times are ns.
"""

from __future__ import annotations

from system.eventlog.records import Command, Event


class SetMarkPrice(Command, frozen=True, gc=False):
    """Set an instrument's mark from outside (a valuation feed or an operator)."""

    instrument: str
    price: int

    def stream(self) -> str:
        return f"input/prices/{self.instrument}"


class SetSourcePrice(Command, frozen=True, gc=False):
    """A price for ``instrument`` seen on another venue or feed ``source`` (composite marks)."""

    instrument: str
    source: str
    price: int

    def stream(self) -> str:
        return f"input/prices/{self.instrument}"


class SetFxRate(Command, frozen=True, gc=False):
    """1 ``base`` = ``mantissa * 10**exponent`` ``quote``."""

    base: str
    quote: str
    mantissa: int
    exponent: int = 0

    def stream(self) -> str:
        return f"input/fx/{self.base}/{self.quote}"


class RecomputeMarks(Command, frozen=True, gc=False):
    """Recompute composite marks now (sources go stale with time, not only with new prices)."""

    def stream(self) -> str:
        return "input/prices"


class RollReferencePrices(Command, frozen=True, gc=False):
    """Set each instrument's reference price (the base of daily limits) to its previous close:
    its last trade, else its mark. ``venue`` empty: every venue. Run it before a session opens."""

    venue: str = ""

    def stream(self) -> str:
        return "input/prices"


class MarkPriceSet(Event, frozen=True, gc=False):
    """The mark of ``instrument`` is ``price`` from ``time`` on; ``method`` says how it was made
    (last, mid, composite, manual) and ``sources`` which composite sources went into it."""

    instrument: str
    price: int
    method: str
    time: int
    sources: tuple[str, ...] = ()

    def stream(self) -> str:
        return f"prices/{self.instrument}"


class SourcePriceSet(Event, frozen=True, gc=False):
    instrument: str
    source: str
    price: int
    time: int

    def stream(self) -> str:
        return f"prices/{self.instrument}"


class PricingRejected(Event, frozen=True, gc=False):
    """A pricing command refused; nothing changed. ``field``/``value`` name what was wrong."""

    command: str
    text: str
    field: str = ""
    value: str = ""

    def stream(self) -> str:
        return "prices"
