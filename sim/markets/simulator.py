"""The simulator: a venue's agents and fair values running as simpy processes in a World.

    world = World(SystemConfig(instruments=xtks.instruments, venues=("XTKS",), default_phase=Phase.CLOSED),
                  start_ns=...)
    sim = Simulator(world, load_profile("XTKS"), seed=7, instruments=["7203"])
    sim.start()
    world.run_until(t)                       # agents trade while the clock runs
    sim.widen_spreads(5); sim.fast_market(5, minutes=10); sim.news("7203", -300); sim.halt("7203")

Every agent order goes through ``World.execute``: the same command path as a user's (pre-trade
risk when configured, then matching), logged like any other. Hooks are plain method calls, so a
Gherkin step, a test or a notebook drives them the same way; see docs/simulators.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import simpy

from sim.clock import Session, VenueCalendar, venue_calendar
from sim.markets.agents import Agent, InformedTrader, MarketMaker, MomentumTrader, NoiseTrader
from sim.markets.fairvalue import FairValueModel
from sim.markets.flow import FlowConfig
from sim.markets.grid import Grid
from sim.markets.intensity import Intensity
from sim.markets.profile import MAX_ACTIVITY, MIN_ACTIVITY, InstrumentProfile, VenueProfile
from sim.markets.seeds import stream
from sim.markets.stats import BookSampler, DayStats
from sim.markets.view import MarketView
from system.clock import NS_PER_MS, NS_PER_SECOND
from system.engine import CancelAllOrders, CancelReason, ChangePhase, Phase
from system.eventlog import Command
from system.runtime.runtime import CommandFailed

# Phase watchers run right after the session scheduler's phase changes (-10), before agents.
WATCH_PRIORITY = -9
_DAY_NS = 86_400 * NS_PER_SECOND


class SimulatorError(ValueError):
    """A simulator set up or driven wrongly; the message names the bad value."""


# A seed is logged (in the manifest and the configuration) as a msgpack integer.
SEED_MIN, SEED_MAX = -(2**63), 2**64 - 1


def check_seed(seed: int) -> int:
    if not SEED_MIN <= seed <= SEED_MAX:
        raise SimulatorError(f"seed {seed}: out of range (a 64-bit integer, -2**63 to 2**64-1)")
    return seed


def check_activity(factor: float) -> float:
    # Below MIN_ACTIVITY an agent's waiting time overflows the clock's 64-bit nanoseconds.
    if not math.isfinite(factor) or not (factor == 0 or MIN_ACTIVITY <= factor <= MAX_ACTIVITY):
        raise SimulatorError(
            f"activity {factor}: must be 0 or a number from {MIN_ACTIVITY:g} to {MAX_ACTIVITY:g}"
        )
    return factor


class Simulator:
    def __init__(
        self,
        world: Any,
        profile: VenueProfile,
        *,
        seed: int | None = None,
        instruments: Iterable[str] | None = None,
        account_prefix: str = "SIM",
    ) -> None:
        self.world = world
        self.clock = world.clock
        self.profile = profile.select(list(instruments) if instruments is not None else None)
        self.seed = check_seed(int(world.config.seed if seed is None else seed))
        self.prefix = account_prefix
        self.view = MarketView(world)
        self.calendar: VenueCalendar = venue_calendar(self.profile.calendar)
        self.specs: dict[str, InstrumentProfile] = {s.id: s for s in self.profile.specs}
        self._flows: dict[str, FlowConfig] = {s.id: s.flow for s in self.profile.specs}
        self._grids = {s.id: Grid(s.instrument) for s in self.profile.specs}
        self.activity = 1.0  # multiplies every agent's rate
        self.paused = False
        self.stopped = False
        self.started = False
        self._changed: simpy.Event | None = None
        self._intensity: dict[str, tuple[int, int, Intensity]] = {}
        session = self._session_at(self.clock.now_ns())
        flow = self.profile.flow
        day_s = Intensity(session, flow).trading_seconds or 6.5 * 3600
        self.fair = FairValueModel(
            self.profile.specs,
            self.profile.factors,
            stream(self.seed, "fair-value"),
            step_s=flow.fair_step_s,
            day_seconds=day_s,
            overnight_gap_vol=flow.overnight_gap_vol,
            jumps_per_day=flow.jumps_per_day,
            jump_vol=flow.jump_vol,
        )
        self.agents: list[Agent] = []
        self._build_agents()
        self.stats = DayStats()
        self._timers: list[Any] = []

    # -- what agents use ---------------------------------------------------------------------------
    @property
    def env(self) -> Any:
        return self.clock.env

    @property
    def instruments(self) -> list[str]:
        return list(self.specs)

    def flow_of(self, instrument: str) -> FlowConfig:
        return self._flows[instrument]

    def grid(self, instrument: str) -> Grid:
        return self._grids[instrument]

    def intensity(self, instrument: str, t: int) -> float:
        """The U-shaped intraday multiplier for ``instrument`` at ``t`` (1 outside a session)."""
        cached = self._intensity.get(instrument)
        if cached is None or not cached[0] <= t < cached[1]:
            s = self._session_at(t)
            u = Intensity(s, self._flows[instrument])
            lo, hi = (s.transitions[0].at, s.close) if s is not None else (t, t + 1)
            cached = (lo, hi, u)
            self._intensity[instrument] = cached
        return cached[2](t)

    def changed(self) -> simpy.Event:
        """An event that fires at the next phase change, pause, resume, reconfigure or stop."""
        if self._changed is None:
            self._changed = self.env.event()
        return self._changed

    def execute(self, command: Command) -> Any:
        """Send ``command`` down the system's command path (what every agent order does)."""
        try:
            return self.world.execute(command)
        except CommandFailed:
            self.view.refresh()
            raise

    # -- set-up ------------------------------------------------------------------------------------
    def _session_at(self, t: int) -> Session | None:
        cal = self.calendar
        try:
            s = cal.session_at(t)
            if s is None:
                s = cal.session(cal.trade_date(t))
        except Exception:  # outside the calendar's horizon: flow without an intraday shape
            return None
        return s

    def _build_agents(self) -> None:
        seed = self.seed
        p = self.prefix
        for spec in self.profile.specs:
            f = spec.flow
            iid = spec.id
            for k in range(f.market_makers):
                lat = f.mm_latency_ms[k % len(f.mm_latency_ms)]
                self.agents.append(
                    MarketMaker(
                        self, f"MM{k + 1}", f"{p}-MM{k + 1}", spec,
                        stream(seed, f"mm{k + 1}/{iid}"), int(lat * NS_PER_MS), k,
                    )
                )  # fmt: skip
            self.agents.append(
                NoiseTrader(
                    self, "N", f"{p}-NOISE", f"{p}-NOISE-X", spec, stream(seed, f"noise/{iid}"),
                    int(f.noise_latency_ms * NS_PER_MS),
                )
            )  # fmt: skip
            lat = int(f.agent_latency_ms * NS_PER_MS)
            self.agents.append(MomentumTrader(self, "M", f"{p}-MOM", spec, stream(seed, f"mom/{iid}"), lat))
            self.agents.append(InformedTrader(self, "I", f"{p}-INF", spec, stream(seed, f"inf/{iid}"), lat))

    def accounts(self) -> list[str]:
        """Every account the agents trade from (give them limits when pre-trade risk runs)."""
        names = set()
        for a in self.agents:
            names.add(a.account)
            if isinstance(a, NoiseTrader):
                names.add(a.aggressive_account)
        return sorted(names)

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> Simulator:
        """Start the fair values and the agents from the clock's current time."""
        if self.started:
            return self
        for iid in self.specs:
            if not self.view.has(iid):
                raise SimulatorError(
                    f"instrument {iid} is not listed in this world: put the profile's instruments in "
                    "SystemConfig(instruments=...) first"
                )
        self.started = True
        self.world.runtime.projections.append(self.stats)
        env = self.env
        env.process(self._fair_value())
        for a in self.agents:
            env.process(a.run())
        self._watch(self.clock.now_ns())
        return self

    def pause(self) -> None:
        """Agents stop sending (their orders stay in the book); fair values keep moving."""
        self.paused = True
        self._notify()

    def resume(self) -> None:
        self.paused = False
        self._notify()

    def stop(self, *, cancel_orders: bool = False) -> None:
        """End every agent process; with ``cancel_orders`` cancel all the agents' open orders."""
        self.stopped = True
        for t in self._timers:
            t.cancel()
        self._timers.clear()
        self._notify()
        if cancel_orders:
            for acct in self.accounts():
                self.execute(CancelAllOrders(account=acct, reason=CancelReason.USER))

    def sample_books(self, every_s: float = 1.0) -> BookSampler:
        """Start sampling each instrument's touch every ``every_s`` in continuous trading."""
        if not 0 < every_s < math.inf:
            raise SimulatorError(f"sample interval {every_s} s must be a positive number")
        sampler = BookSampler(self, self.specs, int(every_s * NS_PER_SECOND))
        self.env.process(sampler.run())
        return sampler

    # -- scenario hooks ----------------------------------------------------------------------------
    def _targets(self, instrument: str | None) -> list[str]:
        if instrument is None:
            return list(self.specs)
        return [self.profile.spec(instrument).id if instrument not in self.specs else instrument]

    def reconfigure(self, instrument: str | None = None, **changes: Any) -> None:
        """Change flow parameters (FlowConfig field names) for one instrument or all, from now on:
        ``sim.reconfigure(noise_rate_per_s=2.0)``."""
        for iid in self._targets(instrument):
            self._flows[iid] = self._flows[iid].replace(**changes)
        self._notify()

    def widen_spreads(self, ticks: int, instrument: str | None = None) -> None:
        """Every market maker quotes ``ticks`` ticks either side of its reservation price."""
        if ticks < 1:
            raise SimulatorError(f"spread of {ticks} ticks: must be at least 1")
        for iid in self._targets(instrument):
            n = max(1, self._flows[iid].market_makers)
            self._flows[iid] = self._flows[iid].replace(mm_half_spread_ticks=(ticks,) * n)
        self._notify()

    def set_activity(self, factor: float) -> None:
        """Scale every agent's arrival rate by ``factor`` (1.0: the profile's flow)."""
        self.activity = check_activity(factor)
        self._notify()

    def fast_market(
        self, multiplier: float = 5.0, *, minutes: float = 10.0, instrument: str | None = None
    ) -> None:
        """Volatility times ``multiplier`` for ``minutes`` (then back to normal)."""
        if not (0 < multiplier < math.inf and 0 < minutes < math.inf):
            raise SimulatorError(f"fast market x{multiplier} for {minutes} minutes: both must be positive")
        fv = self.fair
        if instrument is None:
            fv.vol_multiplier = multiplier
        idx = [fv.index[i] for i in self._targets(instrument)] if instrument is not None else []
        for i in idx:
            fv.inst_multiplier[i] = multiplier

        def calm() -> None:
            if instrument is None:
                fv.vol_multiplier = 1.0
            for i in idx:
                fv.inst_multiplier[i] = 1.0

        self._timers.append(
            self.clock.call_later(int(minutes * 60 * NS_PER_SECOND), calm, label="fast market ends")
        )

    def news(self, instrument: str, move_bp: float) -> None:
        """A news jump: ``instrument``'s fair value moves ``move_bp`` basis points now; the makers
        re-quote and informed traders take the stale quotes."""
        if not math.isfinite(move_bp):
            raise SimulatorError(f"news move {move_bp} bp is not a number")
        if move_bp <= -10_000:
            raise SimulatorError(f"news move {move_bp} bp would take the price to zero or below")
        for iid in self._targets(instrument):
            self.fair.jump(iid, move_bp)

    def halt(self, instrument: str | None = None, *, minutes: float | None = None) -> None:
        """Halt one instrument (or the whole venue) with ChangePhase(HALTED); lift it after
        ``minutes`` if given, else with ``lift_halt``."""
        if minutes is not None and not 0 < minutes < math.inf:
            raise SimulatorError(f"halt for {minutes} minutes: must be a positive number")
        venue = self.profile.venue
        if instrument is None:
            self.execute(ChangePhase(venue=venue, phase=Phase.HALTED, reason="simulated halt"))
        else:
            for iid in self._targets(instrument):
                self.execute(
                    ChangePhase(venue=venue, phase=Phase.HALTED, instrument=iid, reason="simulated halt")
                )
        self._notify()
        if minutes is not None:
            t = self.clock.call_later(int(minutes * 60 * NS_PER_SECOND), lambda: self.lift_halt(instrument))
            self._timers.append(t)

    def lift_halt(self, instrument: str | None = None) -> None:
        """Back to the phase the venue's calendar says (a call uncrosses a crossed book on reopening)."""
        venue = self.profile.venue
        phase = self.calendar.phase(self.clock.now_ns())
        if instrument is None:
            self.execute(ChangePhase(venue=venue, phase=phase, reason="halt lifted"))
        else:
            for iid in self._targets(instrument):
                self.execute(ChangePhase(venue=venue, phase=phase, instrument=iid, reason="halt lifted"))
        self._notify()

    # -- internals ---------------------------------------------------------------------------------
    def _notify(self) -> None:
        ev = self._changed
        self._changed = None
        if ev is not None and not ev.triggered:
            ev.succeed()

    def _fair_value(self) -> Any:
        step = int(self.profile.flow.fair_step_s * NS_PER_SECOND)
        env = self.env
        fv = self.fair
        while not self.stopped:
            yield env.timeout(step)
            fv.step()

    def _watch(self, t0: int) -> None:
        """Wake idle agents at each of the venue's phase changes (planned a UTC day at a time)."""
        if self.stopped:
            return
        t1 = (t0 // _DAY_NS + 1) * _DAY_NS
        try:
            trs = self.calendar.transitions(t0, t1)
        except Exception:
            trs = []
        for tr, _ in trs:
            self._timers.append(
                self.clock.call_at(tr.at, self._notify, priority=WATCH_PRIORITY, label="sim phase")
            )
        self._timers = [t for t in self._timers if not t.cancelled]
        self._timers.append(
            self.clock.call_at(t1, lambda: self._watch(t1), priority=WATCH_PRIORITY, label="sim plan")
        )
