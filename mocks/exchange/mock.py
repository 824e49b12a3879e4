"""The external exchange: a served venue (the same server core as ``chronex serve``) with a FIX 4.4
acceptor and an ITCH 5.0 feed, listing a venue profile's instruments, with a resting ladder of
liquidity so a hedge or a routed order has something to trade against.

In a test (or another mock) on one asyncio loop::

    ctx = MockContext(profile=read_toml(DEFAULT_PROFILE, "profile"), clock=clock)
    ex = ExchangeMock(ctx)
    await ex.start()
    host, port = ex.endpoints()["fix"].split(":")   # dial as HEDGER (accounts HEDGE)
    ...
    await ex.stop()

Its clock follows ``ctx.clock`` (the mocks' shared clock): the engine's virtual clock is pumped up
to it before every batch, so a ``VirtualClock`` in a test moves the exchange when it moves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from chronex.commands.serve import ServedWorld, WorldHost
from mocks.base import MockContext, MockError
from mocks.exchange.profile import ExchangeProfile, Liquidity, parse_profile
from mocks.links import MockLink, fix_link, release_all
from system.bootstrap import SystemConfig
from system.clock import Clock, WallClock
from system.engine import Instrument, Phase, Side, SubmitOrder, TimeInForce, TradeExecuted
from system.eventlog.codec import LoggedEvent
from system.gateways.fix.acceptor import FixAcceptor
from system.gateways.fix.mapping import chronex_dictionary
from system.gateways.fix.message import FixMessage
from system.gateways.fix.orders import OrderEntry
from system.gateways.fix.session import FixSession, State
from system.gateways.fix.store import store_factory
from system.gateways.fix.transport import FixConnection
from system.server.clockmode import PacedMode
from system.server.server import Server

__all__ = ["DEFAULT_PROFILE", "ExchangeMock"]

DEFAULT_PROFILE = Path(__file__).with_name("default.toml")
NAME = "exchange"


class _Entry(OrderEntry):
    """Chronex's FIX order entry, with the mock's faults in front of new orders."""

    def __init__(self, server: Server, mock: ExchangeMock) -> None:
        super().__init__(server, mock.profile.sessions)
        self.mock = mock

    def from_app(self, msg: FixMessage, session: FixSession) -> None:
        faults = self.mock.ctx.faults
        if faults is not None and msg.msg_type == "D":
            link = f"{session.settings.sender_comp_id}->{session.settings.target_comp_id}"
            if faults.throttled(NAME, link):
                faults.note(NAME, f"throttled {msg.get_str(11)} on {link}")
                self._reject_order(session, msg, 99, "THROTTLED: message rate above the venue's limit")
                return
            if faults.active(NAME, "reject", link) is not None:
                faults.note(NAME, f"rejected {msg.get_str(11)} on {link}")
                self._reject_order(session, msg, 99, "EXCHANGE_REJECT: the venue refuses new orders")
                return
        super().from_app(msg, session)


class _Acceptor(FixAcceptor):
    """Refuses logons during an ``outage`` fault; connections are the mock's recording links."""

    def __init__(self, mock: ExchangeMock, link: type[MockLink], **kw: Any) -> None:
        super().__init__(**kw)
        self.mock = mock
        self.link = link

    def connection(self) -> FixConnection:
        max_body = max((s.max_body for s in self.config.sessions), default=1 << 20)
        conn = self.link(binder=self._bind, faults=self.faults, max_body=max_body, on_closed=self._closed)
        self._conns[conn] = self.timer_clock.now_ns()
        return conn

    def _bind(self, raw: bytes, conn: FixConnection) -> FixSession | None:
        faults = self.mock.ctx.faults
        if faults is not None and faults.active(NAME, "outage") is not None:
            faults.note(NAME, f"logon from {conn.peer} refused: outage")
            return None
        return super()._bind(raw, conn)


class _Ladder:
    """The liquidity provider: a resting ladder per book, topped up after each batch with a fill
    of its account (a ``Subscriber`` of the sequencer, so refills are ordinary logged commands)."""

    name = "exchange-liquidity"

    def __init__(self, mock: ExchangeMock, liq: Liquidity, insts: Sequence[Instrument]) -> None:
        self.mock = mock
        self.liq = liq
        self.insts = {i.id: i for i in insts if i.reference_price}
        self._pos = 0
        self._n = 0

    def position(self) -> int:
        return self._pos

    def handle(self, batch: Sequence[LoggedEvent]) -> None:
        acc = self.liq.account
        hit = {
            ev.record.instrument
            for ev in batch
            if isinstance(ev.record, TradeExecuted) and acc in (ev.record.buy_account, ev.record.sell_account)
        }
        self._pos = batch[-1].seq
        for iid in sorted(hit):
            self.fill(iid)

    def ladder(self, inst: Instrument) -> list[tuple[Side, int]]:
        ref = int(inst.reference_price or 0)
        tick = inst.tick_at(ref)
        out = []
        for i in range(self.liq.levels):
            off = (self.liq.spread_ticks + i * self.liq.step_ticks) * tick
            out += [(Side.BUY, ref - off), (Side.SELL, ref + off)]
        return [(s, p) for s, p in out if p > 0]

    def fill(self, iid: str) -> None:
        """Place every level of ``iid``'s ladder that has no resting order of the provider."""
        inst = self.insts.get(iid)
        if inst is None:
            return
        seq = self.mock.server.sequencer
        resting = {(o.side, o.price) for o in seq.open_orders(self.liq.account, iid) if o.leaves > 0}
        lots = self.liq.lots
        faults = self.mock.ctx.faults
        thin = faults.active(NAME, "partial_fill") if faults is not None else None
        if thin is not None:  # a thin book: hedges fill partly
            lots = max(1, int(lots * thin.fill_ratio))
            faults.note(NAME, f"ladder of {iid} thinned to {lots} lots")  # type: ignore[union-attr]
        qty = max(inst.min_qty, lots * inst.lot_size)
        head = self.mock.server.host.store.head().seq
        for side, price in self.ladder(inst):
            if (side, price) in resting:
                continue
            self._n += 1
            clid = f"lp-{head}-{self._n}"
            cmd = SubmitOrder(
                account=self.liq.account, client_order_id=clid, instrument=iid, side=side,
                qty=qty, price=price, tif=TimeInForce.GTC,
            )  # fmt: skip
            seq.submit("exchange-lp", clid, cmd)


class _FixClock:
    """SendingTime from the shared clock the exchange follows."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def now_ns(self) -> int:
        return self.clock.now_ns()


class ExchangeMock:
    """See the module docstring. ``server`` is the served venue once started."""

    name = NAME

    def __init__(self, ctx: MockContext) -> None:
        self.ctx = ctx
        self.profile: ExchangeProfile = parse_profile(ctx.profile, NAME)
        self.instruments = self._instruments()
        self.server: Server
        self.acceptor: _Acceptor | None = None
        self.feed: Any = None
        self.ladder: _Ladder | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._ports: dict[str, str] = {}

    def _instruments(self) -> tuple[Instrument, ...]:
        from sim.markets import ProfileError, load_profile

        try:
            insts = (
                load_profile(self.profile.venue).select(list(self.profile.instruments) or None).instruments
            )
        except ProfileError as e:
            raise MockError(f"{NAME}: {e}") from None
        if self.profile.itch:
            for i in insts:  # ITCH 5.0 prices carry 4 decimals in 4 bytes
                ref = Decimal(i.reference_price or 0) * Decimal(i.price_increment)
                if ref * 2 * 10_000 >= 1 << 32:
                    raise MockError(
                        f"{NAME}: exchange.instruments: {i.id} trades near {ref}, beyond ITCH's 4-byte "
                        "prices (leave it out or set itch.enabled = false)"
                    )
                if (Decimal(i.price_increment) * 10_000) % 1:
                    raise MockError(
                        f"{NAME}: exchange.instruments: {i.id} has price increment {i.price_increment}, "
                        "finer than ITCH's 4 decimals (leave it out or set itch.enabled = false)"
                    )
        return insts

    async def start(self) -> None:
        p = self.profile
        venues = (self.instruments[0].venue,) if p.calendar and self.instruments else ()
        cfg = SystemConfig(
            instruments=self.instruments,
            venues=venues,
            default_phase=Phase.CLOSED if venues else Phase.CONTINUOUS,
            label=f"mock exchange {p.venue}",
        )
        t0 = self.ctx.clock.now_ns()
        try:
            world = ServedWorld(cfg, start_ns=t0, log=p.log, rules=p.rules)
        except Exception as e:  # a log that exists or cannot be opened
            raise MockError(f"{NAME}: exchange.log {p.log!r}: {e}") from None
        # The venue's clock follows the shared one: pumped up to it before every batch.
        mode = PacedMode(world.clock, self.ctx.clock, start_ns=t0, speed=1)
        self.server = Server(WorldHost(world), mode)
        await self.server.start()
        link = fix_link(NAME, self.ctx)
        self.link = link
        self.acceptor = _Acceptor(
            self, link, sessions=p.sessions, app=_Entry(self.server, self), clock=_FixClock(self.ctx.clock),
            store=store_factory("memory:"), host=self.ctx.host, port=self.ctx.port, timer_clock=WallClock(),
            dictionary=chronex_dictionary(),
        )  # fmt: skip
        try:
            await self.acceptor.start()
        except OSError as e:
            await self.server.stop()
            raise MockError(f"{NAME}: --port {self.ctx.port}: {e.strerror or e}") from None
        self._ports["fix"] = f"{self.ctx.host}:{self.acceptor.port}"
        if p.itch:
            from sim.clock import venue_calendar
            from sim.markets import load_profile
            from system.gateways.itch.gateway import FeedGateway

            tz = venue_calendar(load_profile(p.venue).calendar).tz
            self.feed = FeedGateway(self.server, tz, [i.id for i in self.instruments], itch_port=p.itch_port)
            ports = await self.feed.start(self.ctx.host)
            self._ports["itch"] = f"{self.ctx.host}:{ports['itch_port']}"
        if p.liquidity is not None:
            self.ladder = _Ladder(self, p.liquidity, self.instruments)
            self.ladder._pos = self.server.sequencer.head_seq
            self.server.sequencer.subscribe(self.ladder, catch_up=False)
            for iid in sorted(self.ladder.insts):
                self.ladder.fill(iid)
        self._ticker = asyncio.create_task(self._tick())

    async def _tick(self) -> None:
        """Faults in time: disconnects at their instant, outages, held messages coming due."""
        faults = self.ctx.faults
        while True:
            await asyncio.sleep(0.02)
            release_all(self.link)
            if faults is None or self.acceptor is None:
                continue
            drop = bool(faults.due_disconnects(NAME)) or faults.active(NAME, "outage") is not None
            if drop:
                for s in self.acceptor.sessions.values():
                    if s.link is not None and s.state is not State.DISCONNECTED:
                        faults.note(NAME, f"dropped {s.session_id}")
                        s.disconnect("exchange fault: link dropped")

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self.feed is not None:
            with contextlib.suppress(Exception):
                await self.feed.stop()
        if self.acceptor is not None:
            with contextlib.suppress(Exception):
                await self.acceptor.stop()
        if hasattr(self, "server"):
            await self.server.stop()

    def endpoints(self) -> dict[str, str]:
        return dict(self._ports)
