"""Market makers: FIX initiators streaming two-sided quotes into ``chronex serve``.

Every maker of the profile is one FIX session (its own CompID and account) quoting each
instrument as a resting bid and ask: NewOrderSingle the first time, OrderCancelReplaceRequest to
move them, one request in flight per side (the next waits for the ExecutionReport). They all
follow one fair value (``sim.markets.fairvalue.FairValueModel`` over the venue profile, seeded by
``ctx.seed``), stepped every ``quote_every_ms`` of the shared clock, and each prices with its own
``QuotePolicy`` (mocks/makers/policy.py), so several compete at different widths and all widen
when the market turns fast (a ``fast_market`` fault multiplies the model's volatility).

Halts: with ``targets["admin"]`` (serve's admin channel) the makers ask each instrument's phase
and pull their quotes (OrderCancelRequest for every resting one) when it leaves CONTINUOUS,
quoting again when it comes back. Without it, a reject saying the venue is closed (103=2, 102=2)
pulls the quotes the same way until the next step.

Faults: ``stale_quote`` (no updates), ``crossed_quote`` (bid and ask swapped),
``latency`` (outbound held), ``disconnect``/``outage`` (links dropped; reconnect after).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any

from mocks.adminlink import AdminLink
from mocks.base import MockContext, MockError
from mocks.links import fix_link, release_all
from mocks.makers.policy import Quote, QuotePolicy
from mocks.profile import Fields
from system.clock import NS_PER_MS, NS_PER_SECOND, WallClock
from system.engine import Instrument
from system.gateways.fix import FixInitiator, FixMessage, FixSession, store_factory
from system.gateways.fix.codec import format_timestamp
from system.gateways.fix.config import SessionSettings
from system.gateways.fix.mapping import chronex_dictionary, price_text, qty_text

__all__ = ["DEFAULT_PROFILE", "MakersMock"]

DEFAULT_PROFILE = Path(__file__).with_name("default.toml")
NAME = "makers"
_SIDES = (("1", "bid"), ("2", "ask"))


@dataclass(frozen=True, slots=True)
class MakerConf:
    sender: str
    account: str
    half_ticks: int
    lots: int


@dataclass
class _Side:
    """One resting quote side: the ClOrdID it lives under, and whether a request is in flight."""

    clid: str = ""
    open: bool = False
    pending: str = ""  # the ClOrdID of the request in flight
    price: int = 0


@dataclass
class _Maker:
    conf: MakerConf
    policies: dict[str, QuotePolicy]
    sides: dict[tuple[str, str], _Side] = field(default_factory=dict)
    session: FixSession | None = None
    initiator: FixInitiator | None = None
    n: int = 0
    acks: int = 0
    sent: int = 0
    last: dict[str, Quote] = field(default_factory=dict)
    prefix: str = ""

    def next_clid(self) -> str:
        self.n += 1
        return f"{self.prefix or self.conf.sender}-{self.n}"


def _parse(raw: dict[str, Any]) -> tuple[Fields, list[MakerConf]]:
    top = Fields(raw, "")
    top.unknown({"makers", "maker"})
    mk = top.sub("makers")
    mk.unknown(
        {"venue", "instruments", "target_comp_id", "quote_every_ms", "day_seconds",
         "max_half_spread_ticks", "halflife_steps"}
    )  # fmt: skip
    makers = []
    for m in top.tables("maker"):
        m.unknown({"sender_comp_id", "account", "half_spread_ticks", "lots"})
        makers.append(
            MakerConf(
                sender=m.text("sender_comp_id"),
                account=m.text("account"),
                half_ticks=m.integer("half_spread_ticks", 2, low=1, high=10_000),
                lots=m.integer("lots", 1, low=1),
            )
        )
    if not makers:
        raise MockError(f"{NAME}: maker: at least one [[maker]] is required")
    if len({m.sender for m in makers}) != len(makers):
        raise MockError(f"{NAME}: maker: two makers share a sender_comp_id")
    return mk, makers


class MakersMock:
    name = NAME

    def __init__(self, ctx: MockContext) -> None:
        from sim.markets import ProfileError, load_profile
        from sim.markets.fairvalue import FairValueModel

        self.ctx = ctx
        mk, self.confs = _parse(ctx.profile)
        try:
            prof = load_profile(mk.text("venue", "XTKS")).select(list(mk.texts("instruments")) or None)
        except ProfileError as e:
            raise MockError(f"{NAME}: {e}") from None
        self.instruments: dict[str, Instrument] = {i.id: i for i in prof.instruments}
        self.target = mk.text("target_comp_id", "CHRONEX")
        self.every_ns = mk.integer("quote_every_ms", 500, low=0) * NS_PER_MS
        day_s = mk.number("day_seconds", 18000.0, low=1.0)
        step_s = max(self.every_ns / NS_PER_SECOND, 0.001)
        self.model = FairValueModel(
            prof.specs, prof.factors, Random(ctx.seed), step_s=step_s, day_seconds=day_s
        )
        # The calm per-step volatility of each instrument's log price (its factors and its own).
        fvol = dict(prof.factors)
        root = math.sqrt(step_s / day_s)
        calm = {
            s.id: math.sqrt(s.idio_daily_vol**2 + sum((b * fvol[f]) ** 2 for f, b in s.factors)) * root
            for s in prof.specs
        }
        max_half = mk.integer("max_half_spread_ticks", 60, low=1)
        halflife = mk.number("halflife_steps", 10.0, low=1.0)

        def policies(c: MakerConf) -> dict[str, QuotePolicy]:
            return {
                iid: QuotePolicy(
                    inst,
                    base_half_ticks=c.half_ticks,
                    calm_step_vol=calm[iid],
                    max_half_ticks=max_half,
                    halflife=halflife,
                )
                for iid, inst in self.instruments.items()
            }

        self.makers = [_Maker(c, policies(c)) for c in self.confs]
        serve = ctx.targets.get("serve")
        if serve is None:
            raise MockError(f"{NAME}: needs the FIX address of chronex serve (--target serve=host:port)")
        host, _, port = serve.rpartition(":")
        self.host, self.port = host, int(port)
        self.admin = AdminLink(ctx.targets["admin"]) if "admin" in ctx.targets else None
        self.link = fix_link(NAME, ctx)
        self.pulled: set[str] = set()  # instruments whose quotes are pulled (a halt)
        self._next_step = ctx.clock.now_ns()
        self._tasks: list[asyncio.Task[None]] = []
        self._by_clid: dict[str, tuple[_Maker, str, str]] = {}
        self.steps = 0
        self.connected = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        for m in self.makers:
            self._tasks.append(asyncio.create_task(self._keep_connected(m)))
        self._tasks.append(asyncio.create_task(self._quote_loop()))
        if self.admin is not None:
            self._tasks.append(asyncio.create_task(self._watch_phases()))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        for m in self.makers:
            if m.initiator is not None:
                with contextlib.suppress(Exception):
                    await m.initiator.stop(timeout_s=1.0)
        if self.admin is not None:
            await self.admin.close()

    def endpoints(self) -> dict[str, str]:
        return {"dials": f"{self.host}:{self.port}", "sessions": ",".join(m.conf.sender for m in self.makers)}

    @property
    def quotes_acked(self) -> int:
        """Quote sides the venue acknowledged (New or Replaced)."""
        return sum(m.acks for m in self.makers)

    # -- connections -----------------------------------------------------------------------------
    def _down(self) -> bool:
        f = self.ctx.faults
        return f is not None and f.active(NAME, "outage") is not None

    async def _keep_connected(self, m: _Maker) -> None:
        settings = SessionSettings(
            sender_comp_id=m.conf.sender, target_comp_id=self.target, sending_time_tolerance_s=0,
            logon_timeout_s=10.0,
        )  # fmt: skip
        while True:
            if m.session is None or m.session.link is None:
                m.session = None
                if not self._down():
                    ini = FixInitiator(
                        settings, _App(self, m), self.ctx.clock, store_factory("memory:"),
                        host=self.host, port=self.port, timer_clock=WallClock(),
                        dictionary=chronex_dictionary(), link=self.link,
                    )  # fmt: skip
                    try:
                        m.session = await ini.connect(reset=True)
                        m.initiator = ini
                        m.sides.clear()
                        self._fresh_start(m)
                        if all(x.session is not None for x in self.makers):
                            self.connected.set()
                    except (ConnectionError, OSError):
                        with contextlib.suppress(Exception):
                            await ini.stop(timeout_s=0.1)
            await asyncio.sleep(0.2)

    def _fresh_start(self, m: _Maker) -> None:
        """After a logon: ClOrdIDs under a new prefix (the venue remembers a session's ids across
        restarts), and one OrderMassCancelRequest (530=7) for whatever an earlier run left
        resting, as makers do at the start of a session."""
        m.prefix = f"{m.conf.sender}-{self.ctx.clock.now_ns():x}"
        m.n = 0
        assert m.session is not None
        m.session.send(
            "q", [(11, m.next_clid()), (530, "7"), (1, m.conf.account),
                  (60, format_timestamp(self.ctx.clock.now_ns()))],
        )  # fmt: skip

    # -- quoting ---------------------------------------------------------------------------------
    async def _quote_loop(self) -> None:
        while True:
            await asyncio.sleep(0.001 if self.every_ns == 0 else 0.005)
            release_all(self.link)
            self._faults_in_time()
            now = self.ctx.clock.now_ns()
            stepped = False
            if self.every_ns == 0:
                self._step()
                stepped = True
            else:
                while self._next_step <= now:
                    self._step()
                    self._next_step += self.every_ns
                    stepped = True
            if stepped:
                if self.admin is None:
                    self.pulled.clear()  # a closed-venue reject pulled them until this step
                self.requote()

    def _faults_in_time(self) -> None:
        f = self.ctx.faults
        if f is None:
            return
        drop = bool(f.due_disconnects(NAME)) or self._down()
        if drop:
            for m in self.makers:
                if m.session is not None and m.session.link is not None:
                    f.note(NAME, f"dropped {m.conf.sender}")
                    m.session.disconnect("maker fault: link dropped")

    def _step(self) -> None:
        f = self.ctx.faults
        fast = f.active(NAME, "fast_market") if f is not None else None
        self.model.vol_multiplier = fast.vol_multiplier if fast is not None else 1.0
        self.model.step()
        self.steps += 1
        for m in self.makers:
            for iid, pol in m.policies.items():
                pol.observe(self.model.price(iid))

    def requote(self) -> None:
        """Send every maker's current quote on every side that has no request in flight."""
        f = self.ctx.faults
        for m in self.makers:
            s = m.session
            if s is None or not s.logged_on:
                continue
            if f is not None and f.active(NAME, "stale_quote", m.conf.sender) is not None:
                continue
            crossed = f is not None and f.active(NAME, "crossed_quote", m.conf.sender) is not None
            for iid, pol in m.policies.items():
                if iid in self.pulled:
                    continue
                q = pol.quote(self.model.price(iid))
                m.last[iid] = q
                prices = {"1": q.ask, "2": q.bid} if crossed else {"1": q.bid, "2": q.ask}
                for side, _ in _SIDES:
                    self._send_side(m, iid, side, prices[side])

    def _send_side(self, m: _Maker, iid: str, side: str, price: int) -> None:
        st = m.sides.setdefault((iid, side), _Side())
        if st.pending or (st.open and st.price == price):
            return
        assert m.session is not None
        inst = self.instruments[iid]
        clid = m.next_clid()
        body: list[tuple[int, str | bytes | int]] = [(11, clid)]
        if st.open:
            body.append((41, st.clid))
        body += [
            (1, m.conf.account), (55, iid), (54, side),
            (60, format_timestamp(self.ctx.clock.now_ns())),
            (38, qty_text(inst, m.conf.lots * inst.lot_size)), (40, "2"), (44, price_text(inst, price)),
            (59, "1"), (18, "6"),  # GTC, post-only: a maker never takes
        ]  # fmt: skip
        st.pending = clid
        st.price = price
        self._by_clid[clid] = (m, iid, side)
        m.sent += 1
        m.session.send("G" if st.open else "D", body)

    def pull(self, iid: str) -> None:
        """Cancel every resting quote of ``iid`` (a halt)."""
        self.pulled.add(iid)
        for m in self.makers:
            if m.session is None or not m.session.logged_on:
                continue
            for side, _ in _SIDES:
                st = m.sides.get((iid, side))
                if st is None or not st.open:
                    continue
                clid = m.next_clid()
                self._by_clid[clid] = (m, iid, side)
                st.pending = clid
                m.session.send(
                    "F", [(41, st.clid), (11, clid), (1, m.conf.account), (55, iid), (54, side),
                          (60, format_timestamp(self.ctx.clock.now_ns()))],
                )  # fmt: skip

    async def _watch_phases(self) -> None:
        assert self.admin is not None
        while True:
            await asyncio.sleep(0.05)
            for iid in self.instruments:
                try:
                    phase = (await self.admin.call("phase", instrument=iid))["phase"]
                except ConnectionError:
                    continue
                if phase != "CONTINUOUS" and iid not in self.pulled:
                    self.pull(iid)
                elif phase == "CONTINUOUS" and iid in self.pulled:
                    self.pulled.discard(iid)
                    self.requote()  # back at once, not at the next step

    # -- execution reports -----------------------------------------------------------------------
    def on_report(self, m: _Maker, msg: FixMessage) -> None:
        clid = msg.get_str(11) or ""
        found = self._by_clid.get(clid)
        if found is None:
            return
        _, iid, side = found
        st = m.sides.setdefault((iid, side), _Side())
        if msg.msg_type == "9":  # cancel/replace refused
            if st.pending == clid:
                st.pending = ""
            if msg.get(102) in (b"0", b"1"):  # too late / unknown: the quote is gone
                st.open = False
            elif msg.get(102) == b"2":
                self.pull(iid)
            return
        exec_type, status = msg.get(150), msg.get(39)
        if exec_type in (b"0", b"5"):
            if st.pending == clid:
                st.pending = ""
                st.clid = clid
                st.open = True
                m.acks += 1
        elif exec_type == b"8":
            if st.pending == clid:
                st.pending = ""
            if msg.get(103) == b"2":
                self.pull(iid)
            elif msg.get(103) == b"6":  # an id an earlier run used: a new prefix, and on
                m.prefix += "r"
        elif (exec_type in (b"4", b"C") or status == b"2") and clid in (st.clid, st.pending):
            st.open = False
            st.pending = ""


class _App:
    def __init__(self, mock: MakersMock, maker: _Maker) -> None:
        self.mock = mock
        self.maker = maker

    def on_logon(self, session: FixSession) -> None:
        pass

    def on_logout(self, session: FixSession) -> None:
        self.maker.sides.clear()

    def from_app(self, msg: FixMessage, session: FixSession) -> None:
        if msg.msg_type in ("8", "9"):
            self.mock.on_report(self.maker, msg)
