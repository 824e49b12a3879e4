"""An in-process hedge venue: a second Chronex matching engine (its own runtime and log, in memory,
on the caller's clock), for fast scenarios.

Hedge orders become market IOC orders of account ``house_account`` on the venue's book; the
venue's own events become the port's reports. Liquidity is whatever rests on its book
(``rest``); faults are set by hand: ``go_down``/``come_up`` (an outage, reported as a disconnect
would be), ``hold`` (orders wait unexecuted until ``release``, so an outage can strike mid-hedge)
and ``reject_next``.
"""

from __future__ import annotations

from system.bootstrap import SystemConfig, TradingSystem
from system.clock import Clock
from system.engine import CancelOrder, SubmitOrder
from system.engine.events import OrderCancelled, OrderExpired, OrderRejected, TradeExecuted
from system.engine.orders import OrderType, Side, TimeInForce
from system.engine.refdata import Instrument
from system.eventlog import open_log
from system.hedging.events import (
    HedgeOrderPlaced,
    RecordHedgeDone,
    RecordHedgeFill,
    RecordHedgeReject,
    RecordVenueDown,
    RecordVenueUp,
)
from system.hedging.port import HedgeVenue, Report, VenueUnavailable


class InProcessVenue(HedgeVenue):
    def __init__(
        self, name: str, instruments: list[Instrument], clock: Clock, *, house_account: str = "HOUSE"
    ) -> None:
        self.name = name
        self.house_account = house_account
        self.system = TradingSystem(
            SystemConfig(instruments=tuple(instruments), label=f"hedge venue {name}"),
            open_log("memory://", clock),
            clock,
        )
        self.system.start()
        self.up = True
        self.holding = False
        self.held: list[HedgeOrderPlaced] = []
        self.rejects: list[str] = []
        self._report: Report | None = None
        self._resting = 0
        self.received: list[HedgeOrderPlaced] = []

    # -- the port --------------------------------------------------------------------------------
    def open(self, report: Report) -> None:
        self._report = report

    def _say(self, cmd: object) -> None:
        assert self._report is not None, "open() the venue first"
        self._report(cmd)  # type: ignore[arg-type]

    def send(self, order: HedgeOrderPlaced) -> None:
        if not self.up:
            raise VenueUnavailable(f"{self.name} is down")
        self.received.append(order)
        if self.rejects:
            self._say(RecordHedgeReject(order.order_id, self.rejects.pop(0)))
        elif self.holding:
            self.held.append(order)
        else:
            self._execute(order)

    def cancel(self, order_id: str) -> None:
        for o in list(self.held):
            if o.order_id == order_id:
                self.held.remove(o)
                self._say(RecordHedgeDone(order_id, "cancelled"))

    def close(self) -> None:
        self._report = None

    def _execute(self, order: HedgeOrderPlaced) -> None:
        out = self.system.execute(
            SubmitOrder(
                self.house_account, order.order_id, order.instrument, order.side, order.qty,
                OrderType.MARKET, tif=TimeInForce.IOC,
            )
        )  # fmt: skip
        oid = None
        for rec in out.records:
            if isinstance(rec, OrderRejected) and rec.client_order_id == order.order_id:
                self._say(RecordHedgeReject(order.order_id, f"{rec.reason}: {rec.text}"))
            elif isinstance(rec, TradeExecuted):
                mine = rec.buy_order_id if order.side is Side.BUY else rec.sell_order_id
                if oid is None:
                    oid = mine
                if mine == oid:
                    self._say(
                        RecordHedgeFill(order.order_id, rec.qty, rec.price, f"{self.name}-{rec.trade_id}")
                    )
            elif isinstance(rec, OrderCancelled | OrderExpired) and rec.client_order_id == order.order_id:
                self._say(RecordHedgeDone(order.order_id, f"{self.name}: {rec.qty} unfilled ({rec.reason})"))

    # -- the venue's controls --------------------------------------------------------------------
    def rest(self, instrument: str, side: Side, qty: int, price: int, account: str = "LP") -> None:
        """Put a resting limit order on the venue's book (liquidity for hedges)."""
        self._resting += 1
        self.system.execute(SubmitOrder(account, f"lp-{self._resting}", instrument, side, qty, price=price))

    def clear(self, instrument: str, account: str = "LP") -> None:
        for o in self.system.engine.open_orders(account, instrument):
            self.system.execute(CancelOrder(account, instrument, o.order_id))

    def go_down(self, text: str = "connection lost") -> None:
        """An outage: held orders are lost with the connection; the desk hears a disconnect."""
        self.up = False
        self.held.clear()
        self._say(RecordVenueDown(self.name, text))

    def come_up(self) -> None:
        self.up = True
        self._say(RecordVenueUp(self.name))

    def hold(self) -> None:
        self.holding = True

    def release(self) -> None:
        self.holding = False
        held, self.held = self.held, []
        for o in held:
            self._execute(o)

    def reject_next(self, n: int, text: str = "rejected by venue") -> None:
        self.rejects += [text] * n
