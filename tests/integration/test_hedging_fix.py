"""The hedging features over FIX: each hedge venue is a served Chronex venue (the server core with
its FIX 4.4 acceptor, in this process, on loopback) and the hedge desk reaches it through
``FixHedgeVenue`` on Chronex's FIX initiator. The same feature files as in-process, except the
faults only the in-process venue can stage (rejects on demand, held orders)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import scenarios

from chronex.commands.serve import ServedWorld, WorldHost
from steps.context import Scenario
from steps.errors import StepInputError
from steps.library import hedging as hedging_steps
from system.bootstrap import SystemConfig, TradingSystem
from system.clock import FixedClock
from system.engine import SubmitOrder
from system.engine.orders import Side
from system.engine.refdata import Instrument
from system.engine.testkit import instrument
from system.eventlog import open_log
from system.gateways.fix import FixAcceptor, FixMessage, FixSession, store_factory
from system.gateways.fix.config import parse_sessions
from system.gateways.fix.mapping import chronex_dictionary
from system.gateways.fix.orders import OrderEntry
from system.hedging import HedgeDesk, HedgeOrderFilled, HedgeOrderRejected, HedgeRoute, parse_hedging
from system.hedging.fixvenue import FixHedgeVenue
from system.server.clockmode import ClockMode
from system.server.server import Server

FEATURES = Path(__file__).resolve().parents[2] / "features" / "hedging"
scenarios(str(FEATURES / "round_trip.feature"), str(FEATURES / "outage.feature"))


class _OutageSwitch:
    """The acceptor's application: order entry, unless an outage is armed for the next order, in
    which case the venue drops every connection and stops listening instead of answering."""

    def __init__(self, inner: OrderEntry, venue: ServedFixVenue) -> None:
        self.inner = inner
        self.venue = venue
        self.armed = False

    def on_logon(self, session: FixSession) -> None:
        self.inner.on_logon(session)

    def on_logout(self, session: FixSession) -> None:
        self.inner.on_logout(session)

    def from_app(self, msg: FixMessage, session: FixSession) -> None:
        if self.armed and msg.msg_type == "D":
            self.armed = False
            asyncio.get_running_loop().create_task(self.venue._crash())
            return
        self.inner.from_app(msg, session)


class ServedFixVenue:
    """A served venue on its own event-loop thread, and the FIX adapter the desk uses for it."""

    wait_s = 10.0  # generous: the machine is loaded

    def __init__(self, name: str, instruments: list[Instrument], ctx: Scenario) -> None:
        self.name = name
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.sessions = parse_sessions(
            {
                "defaults": {"sender_comp_id": name, "heartbeat_s": 30},
                "session": [{"target_comp_id": "HOUSE", "accounts": ["HOUSE"]}],
            }
        )
        self.world = ServedWorld(
            SystemConfig(instruments=tuple(instruments)), start_ns=ctx.now(), sessions=False
        )
        self.server = Server(WorldHost(self.world), ClockMode(self.world.clock))
        self.port = 0
        self.acceptor: FixAcceptor | None = None
        self.switch: _OutageSwitch | None = None
        self._run(self._start())
        routes = [HedgeRoute(name, i.id, i.qty_increment, i.price_increment) for i in instruments]
        self.adapter = FixHedgeVenue(
            name, routes, self.sessions.sessions[0].counterpart(), hedging_steps._DriverClock(ctx),
            host="127.0.0.1", port=self.port, account="HOUSE",
        )  # fmt: skip

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    async def _start(self) -> None:
        await self.server.start()
        await self._listen()

    async def _listen(self) -> None:
        self.switch = _OutageSwitch(OrderEntry(self.server, self.sessions), self)
        self.acceptor = FixAcceptor(
            self.sessions, self.switch, self.world.clock, store_factory("memory:"), port=self.port,
            dictionary=chronex_dictionary(),
        )  # fmt: skip
        await self.acceptor.start()
        self.port = self.acceptor.port

    async def _crash(self) -> None:
        acc = self.acceptor
        if acc is None:
            return
        self.acceptor = None
        for s in acc.sessions.values():
            if s.link is not None:
                s.disconnect("venue outage")
        if acc._server is not None:
            acc._server.close()
        if acc._ticker is not None:
            acc._ticker.cancel()

    def _until(self, cond: Callable[[], bool], what: str) -> None:
        done = threading.Event()
        for _ in range(1000):  # up to ~10 s on a loaded machine
            if cond():
                return
            done.wait(0.01)
        raise AssertionError(f"{self.name}: {what} did not happen in time")

    # -- the controls ----------------------------------------------------------------------------
    def rest(self, instrument: Instrument, side: Side, qty: int, price: int) -> None:
        cmd = SubmitOrder("LP", f"lp-{qty}-{price}-{side}", instrument.id, side, qty, price=price)
        self._run(self.server.sequencer.call("lp", None, cmd))

    def go_down(self) -> None:
        self._run(self._crash())
        self._until(lambda: not self.adapter.active, "the adapter seeing the outage")

    def come_up(self) -> None:
        self._run(self._listen())
        assert self.adapter.connect(), f"{self.name}: no logon after the outage"

    def down_on_next_order(self) -> None:
        assert self.switch is not None
        self.switch.armed = True

    def hold(self) -> None:
        raise StepInputError("a served FIX venue cannot hold orders (in-process venues only)")

    release = hold

    def reject_next(self, n: int) -> None:
        raise StepInputError("a served FIX venue cannot reject on demand (in-process venues only)")

    def stop(self) -> None:
        self.adapter.close()
        self._run(self._crash())
        self._run(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(autouse=True)
def _served_venues(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(hedging_steps, "venue_factory", ServedFixVenue)
    yield


class _Ctx:
    """Just enough of a scenario for a served venue outside the features: its start time."""

    def __init__(self, now: int) -> None:
        self._now = now

    def now(self) -> int:
        return self._now

    def system(self) -> _Ctx:
        return self


def test_a_served_venue_reject_and_fill_come_back_as_commands() -> None:
    """Over FIX an ExecutionReport 150=8 becomes RecordHedgeReject (with the venue's text) and a
    fill RecordHedgeFill in the route's lots and price units; the desk logs both."""
    t0 = 1_798_934_400 * 10**9
    ext = instrument("EXTA:BTC/JPY", base_currency="BTC", qty_increment="0.0001", min_qty=5_000)
    served = ServedFixVenue("EXTA", [ext], _Ctx(t0))  # type: ignore[arg-type]
    try:
        served.rest(ext, Side.SELL, 50_000, 5_000_000)
        route = {"venue": "EXTA", "instrument": ext.id, "qty_increment": "0.0001"}
        cfg = parse_hedging(
            {"assets": {"BTC": {"threshold": "100000", "max_order_qty": "1", "venues": [route]}}}
        )
        clock = FixedClock(t0)
        btc = instrument("CRYPTO:BTC/JPY", base_currency="BTC", qty_increment="0.0001")
        house = TradingSystem(
            SystemConfig(instruments=(btc,), hedging=cfg), open_log("memory://", clock), clock
        )
        house.start()
        desk = HedgeDesk(house.execute, lambda s: list(house.store.read(s)), [served.adapter])
        # Short 1.03 BTC: H1 buys 1 BTC (fills), H2 the 0.03 left, under the venue's minimum: rejected.
        house.execute(SubmitOrder("alice", "a", btc.id, Side.BUY, 10_300, price=5_000_000))
        house.execute(SubmitOrder("HOUSE", "h", btc.id, Side.SELL, 10_300, price=5_000_000))
        assert desk.settle(wait_s=10)
        recs = [e.record for e in house.store.read(1)]
        fills = [r for r in recs if isinstance(r, HedgeOrderFilled)]
        rejects = [r for r in recs if isinstance(r, HedgeOrderRejected)]
        assert [(f.order_id, f.qty, f.price, f.leaves) for f in fills] == [("H1", 10_000, 5_000_000, 0)]
        assert [r.order_id for r in rejects][:1] == ["H2"] and "QTY" in rejects[0].text.upper()
    finally:
        served.stop()
