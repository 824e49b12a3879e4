"""A small harness over the real composition root for risk and pricing tests and examples.

    h = RiskHarness(risk={"accounts": {"A": {"max_notional": "1000000"}}}, pricing={})
    h.submit("A", "XTKS:7203", Side.BUY, 100, price=1000)   # -> the events it produced
    h.accounts.margin("A")

Everything goes through ``TradingSystem`` (risk, engine, corrections, pricing and their read
models) over a memory (or given) log, with a settable clock.
"""

from __future__ import annotations

from typing import Any

from system.bootstrap import SystemConfig, TradingSystem
from system.clock import FixedClock
from system.engine import Instrument, Side, SubmitOrder
from system.eventlog import EventStore, open_log
from system.eventlog.records import Command, Event
from system.pricing.bars import BarProjection
from system.pricing.config import parse_pricing
from system.pricing.projections import MarksProjection
from system.risk.config import parse_risk
from system.risk.projections import AccountsProjection

T0 = 1_700_000_000 * 10**9  # 2023-11-14T22:13:20Z


def stock(id: str = "XTKS:7203", **kw: Any) -> Instrument:
    venue, _, symbol = id.partition(":")
    fields: dict[str, Any] = {"base_currency": symbol, "quote_currency": "JPY"}
    fields.update(kw)
    return Instrument(id, venue, symbol, **fields)


class RiskHarness:
    def __init__(
        self,
        *instruments: Instrument,
        risk: dict[str, Any] | None = None,
        pricing: dict[str, Any] | None = None,
        store: EventStore | None = None,
        clock: FixedClock | None = None,
        t0: int = T0,
    ) -> None:
        self.clock = clock if clock is not None else FixedClock(t0)
        self.store = store if store is not None else open_log("memory://", self.clock)
        self.config = SystemConfig(
            instruments=instruments or (stock(),),
            risk=None if risk is None else parse_risk(risk),
            pricing=None if pricing is None else parse_pricing(pricing),
        )
        self.system = TradingSystem(self.config, self.store, self.clock)
        self.system.start()
        self._cid = 0

    @property
    def accounts(self) -> AccountsProjection:
        return self.system.projection(AccountsProjection)  # type: ignore[no-any-return]

    @property
    def marks(self) -> MarksProjection:
        return self.system.projection(MarksProjection)  # type: ignore[no-any-return]

    @property
    def bars(self) -> BarProjection:
        return self.system.projection(BarProjection)  # type: ignore[no-any-return]

    def do(self, command: Command, **kw: Any) -> list[Event]:
        return [r for r in self.system.execute(command, **kw).records if isinstance(r, Event)]

    def at(self, t: int, command: Command) -> list[Event]:
        self.clock.t = t
        return self.do(command)

    def submit(self, account: str, instrument: str, side: Side, qty: int, **kw: Any) -> list[Event]:
        self._cid += 1
        return self.do(SubmitOrder(account, f"{account}-{self._cid}", instrument, side, qty, **kw))

    def cross(self, buyer: str, seller: str, instrument: str, qty: int, price: int) -> list[Event]:
        """A resting sell from ``seller`` taken by a buy from ``buyer``: one trade."""
        return self.submit(seller, instrument, Side.SELL, qty, price=price) + self.submit(
            buyer, instrument, Side.BUY, qty, price=price
        )


def of(events: list[Event], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]
