"""A hedge venue over FIX 4.4: Chronex's FIX initiator dialling any acceptor (``chronex serve``, the
external-exchange mock, a real venue's UAT).

The session runs on its own event-loop thread; ``send``/``cancel`` hand messages to that loop and
return. ExecutionReports become the port's reports (ExecType F: a fill; 4 or C: the order's end;
8: a reject), a lost session becomes ``RecordVenueDown`` and a logon ``RecordVenueUp``. Orders
are market IOC NewOrderSingles with the engine's order id as ClOrdID; quantities and prices cross
between the route's lots and FIX decimals here, at the edge.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from system.clock import Clock
from system.engine.orders import Side
from system.gateways.fix.codec import format_timestamp
from system.gateways.fix.config import SessionSettings
from system.gateways.fix.initiator import FixInitiator
from system.gateways.fix.mapping import chronex_dictionary
from system.gateways.fix.message import FixMessage
from system.gateways.fix.session import FixSession, State
from system.gateways.fix.store import store_factory
from system.hedging.config import HedgeRoute, HedgingConfig
from system.hedging.events import (
    HedgeOrderPlaced,
    RecordHedgeDone,
    RecordHedgeFill,
    RecordHedgeReject,
    RecordVenueDown,
    RecordVenueUp,
)
from system.hedging.port import HedgeVenue, Report, VenueUnavailable

SIDE = {Side.BUY: "1", Side.SELL: "2"}


def routes_of(config: HedgingConfig, venue: str) -> list[HedgeRoute]:
    """Every route of ``config`` on ``venue`` (the instruments this adapter trades)."""
    return [r for a in config.assets.values() for r in a.venues if r.venue == venue]


def _text(d: Decimal) -> str:
    s = format(d.normalize(), "f")
    return s


class FixHedgeVenue(HedgeVenue):
    """One FIX session to one venue. ``settings`` are our side of the session (we are
    ``sender_comp_id``); ``account`` goes in tag 1 when set."""

    def __init__(
        self,
        name: str,
        routes: Iterable[HedgeRoute],
        settings: SessionSettings,
        clock: Clock,
        *,
        host: str,
        port: int,
        account: str = "",
        connect_timeout_s: float = 10.0,
    ) -> None:
        self.name = name
        self.routes = {r.instrument: r for r in routes}
        self.settings = settings
        self.clock = clock
        self.host = host
        self.port = port
        self.account = account
        self.connect_timeout_s = connect_timeout_s
        self._report: Report | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"hedge-fix-{name}", daemon=True)
        self._initiator: FixInitiator | None = None
        self._orders: dict[str, HedgeOrderPlaced] = {}  # ClOrdID (ours and cancels') -> order
        self._closing = False
        self._cancels = 0

    # -- the session's application (runs on the loop thread) -------------------------------------
    def on_logon(self, session: FixSession) -> None:
        pass

    def on_logout(self, session: FixSession) -> None:
        if not self._closing and self._report is not None:
            self._report(RecordVenueDown(self.name, f"FIX session lost: {session.close_reason}"))

    def from_app(self, msg: FixMessage, session: FixSession) -> None:
        if msg.msg_type == "8":
            self._execution_report(msg)

    def _execution_report(self, msg: FixMessage) -> None:
        if self._report is None:
            return
        clid = msg.get_str(11) or ""
        order = self._orders.get(clid)
        if order is None:
            order = self._orders.get(msg.get_str(41) or "")
        if order is None:
            return  # not one of ours (a drop copy of someone else's order)
        route = self.routes[order.instrument]
        exec_type = msg.get_str(150)
        if exec_type == "F":
            try:
                qty = Decimal(msg.get_str(32) or "0") / Decimal(route.qty_increment)
                price = Decimal(msg.get_str(31) or "0") / Decimal(route.price_increment)
            except InvalidOperation:
                self._report(RecordHedgeReject(order.order_id, f"unreadable fill: {msg!r}"))
                return
            exec_id = f"{self.name}-{msg.get_str(17) or ''}"
            self._report(RecordHedgeFill(order.order_id, int(qty), int(price), exec_id))
            if msg.get_str(39) in ("4", "C"):  # filled in part and ended in the same report
                self._report(RecordHedgeDone(order.order_id, msg.get_str(58) or "ended by the venue"))
        elif exec_type in ("4", "C"):
            self._report(RecordHedgeDone(order.order_id, msg.get_str(58) or f"ExecType {exec_type}"))
        elif exec_type == "8":
            self._report(RecordHedgeReject(order.order_id, msg.get_str(58) or "rejected"))

    # -- the port --------------------------------------------------------------------------------
    def open(self, report: Report) -> None:
        self._report = report
        self._thread.start()
        self.connect()

    def connect(self) -> bool:
        """Log on (again); reports ``RecordVenueUp`` on success, ``RecordVenueDown`` on failure."""
        fut = asyncio.run_coroutine_threadsafe(self._connect(), self._loop)
        try:
            fut.result(self.connect_timeout_s)
        except Exception as e:  # refused, timed out, logon failed: the venue is down to us
            fut.cancel()
            if self._report is not None:
                self._report(RecordVenueDown(self.name, f"cannot log on to {self.host}:{self.port}: {e}"))
            return False
        if self._report is not None:
            self._report(RecordVenueUp(self.name))
        return True

    async def _connect(self) -> None:
        if self._initiator is not None:
            await self._initiator.stop(timeout_s=0.5)
        self._initiator = FixInitiator(
            self.settings, self, self.clock, store_factory("memory:"), host=self.host, port=self.port,
            dictionary=chronex_dictionary(),
        )  # fmt: skip
        await self._initiator.connect(reset=True)

    @property
    def active(self) -> bool:
        ini = self._initiator
        return ini is not None and ini.session.state is State.ACTIVE

    def _post(self, msg_type: str, body: list[tuple[int, str | bytes | int]]) -> None:
        ini = self._initiator
        if ini is None or ini.session.state is not State.ACTIVE:
            raise VenueUnavailable(f"{self.name}: FIX session not logged on")
        session = ini.session
        self._loop.call_soon_threadsafe(session.send, msg_type, body)

    def send(self, order: HedgeOrderPlaced) -> None:
        route = self.routes.get(order.instrument)
        if route is None:
            raise VenueUnavailable(f"{self.name} has no route for {order.instrument}")
        body: list[tuple[int, str | bytes | int]] = [(11, order.order_id)]
        if self.account:
            body.append((1, self.account))
        body += [
            (55, order.instrument),
            (54, SIDE[order.side]),
            (60, format_timestamp(self.clock.now_ns())),
            (38, _text(order.qty * Decimal(route.qty_increment))),
            (40, "1"),
            (59, "3"),
        ]
        self._orders[order.order_id] = order
        self._post("D", body)

    def cancel(self, order_id: str) -> None:
        order = self._orders.get(order_id)
        if order is None:
            return
        self._cancels += 1
        clid = f"{order_id}-c{self._cancels}"
        self._orders[clid] = order
        with contextlib.suppress(VenueUnavailable):  # down: the outage ends the order anyway
            self._post(
                "F",
                [(41, order_id), (11, clid), (55, order.instrument), (54, SIDE[order.side]),
                 (60, format_timestamp(self.clock.now_ns()))],
            )  # fmt: skip

    def close(self) -> None:
        self._closing = True
        if self._thread.is_alive():
            if self._initiator is not None:
                fut = asyncio.run_coroutine_threadsafe(self._initiator.stop(timeout_s=1.0), self._loop)
                with contextlib.suppress(Exception):
                    fut.result(5.0)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5.0)
        self._loop.close()
        self._report = None
