"""A small in-process harness over the real Runtime, for tests, BDD steps and examples.

    h = EngineHarness(instrument("XTKS:7203"))
    h.submit("A", "a1", "XTKS:7203", Side.BUY, 100, price=2500)   # -> the events it produced
    h.book("XTKS:7203").bids

It uses a memory log, a settable clock and the MarketData projection, so every call goes through
the same command path (log, handlers, appliers, projections) as a live run.
"""

from __future__ import annotations

from typing import Any

from system.clock import FixedClock
from system.engine.commands import ListInstrument, SubmitOrder
from system.engine.engine import MatchingEngine
from system.engine.events import FxRateSet
from system.engine.marketdata import MarketData
from system.engine.orders import Side
from system.engine.phases import Phase
from system.engine.refdata import Instrument
from system.engine.views import BookView
from system.eventlog import open_log
from system.eventlog.records import Command, Event
from system.runtime import Component, Context, Runtime, handles


class InjectFxRate(Command, frozen=True, gc=False):
    """Test-only stand-in for the pricing engine: makes the log say ``FxRateSet``."""

    base: str
    quote: str
    mantissa: int
    exponent: int


class FxFeed(Component):
    name = "testkit-fx"

    @handles(InjectFxRate)
    def _inject(self, cmd: InjectFxRate, ctx: Context) -> bool:
        ctx.emit(FxRateSet(cmd.base, cmd.quote, cmd.mantissa, cmd.exponent))
        return True


def instrument(id: str = "XTKS:7203", **kw: Any) -> Instrument:
    """An instrument with plain defaults (tick 1, lot 1) for tests; ``kw`` overrides fields."""
    venue, _, symbol = id.partition(":")
    fields: dict[str, Any] = {"base_currency": symbol, "quote_currency": "JPY"}
    fields.update(kw)
    return Instrument(id, venue, symbol, **fields)


class EngineHarness:
    def __init__(
        self, *instruments: Instrument, default_phase: Phase = Phase.CONTINUOUS, t0: int = 1_000
    ) -> None:
        self.clock = FixedClock(t0)
        self.store = open_log("memory://", self.clock)
        self.default_phase = default_phase
        self.marketdata = MarketData()
        self.runtime = Runtime(
            self.store,
            self.clock,
            lambda: [FxFeed(), MatchingEngine(default_phase=default_phase)],
            projections=[self.marketdata],
        )
        for inst in instruments:
            self.do(ListInstrument(inst))

    @property
    def engine(self) -> MatchingEngine:
        return self.runtime.component(MatchingEngine)  # type: ignore[no-any-return]

    def do(self, command: Command) -> list[Event]:
        """Execute ``command`` now; returns the events it produced."""
        return [r for r in self.runtime.execute(command).records if isinstance(r, Event)]

    def at(self, t: int, command: Command) -> list[Event]:
        self.clock.t = t
        return self.do(command)

    def submit(self, account: str, cid: str, instrument: str, side: Side, qty: int, **kw: Any) -> list[Event]:
        return self.do(SubmitOrder(account, cid, instrument, side, qty, **kw))

    def fx(self, base: str, quote: str, mantissa: int, exponent: int = 0) -> list[Event]:
        return self.do(InjectFxRate(base, quote, mantissa, exponent))

    def book(self, instrument: str) -> BookView:
        return self.engine.book(instrument)

    def refold(self) -> MatchingEngine:
        """A fresh engine folded from this log's events alone."""
        fresh = MatchingEngine(default_phase=self.default_phase)
        table = fresh.appliers()
        for ev in self.store.read(1):
            if ev.record.kind == "event":
                for fn in table.get(type(ev.record), ()):
                    fn(ev.record)
        return fresh
