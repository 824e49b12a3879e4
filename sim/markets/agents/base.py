"""What every agent shares: its account and ids, its random stream, its latency, and the loop
that wakes it, checks the phase and sends what it decided.

An agent decides at its wake time from what it sees then; its commands reach the system
``latency`` later (and are dropped if the simulator was paused or the phase ended meanwhile).
Agents sleep on the simulator's ``changed`` event while their instrument is in a phase they do
not trade in, so a closed market or a lunch break costs nothing.
"""

from __future__ import annotations

from collections.abc import Generator
from random import Random
from typing import TYPE_CHECKING, Any

from sim.markets.grid import Grid
from system.engine import Phase, Side
from system.eventlog import Command

if TYPE_CHECKING:
    from sim.markets.flow import FlowConfig
    from sim.markets.profile import InstrumentProfile
    from sim.markets.simulator import Simulator

BUY, SELL = Side.BUY, Side.SELL
CONTINUOUS = Phase.CONTINUOUS
# Phases in which orders are taken but nothing trades: orders then meet in the next auction.
CALL_PHASES = (Phase.PRE_OPEN, Phase.OPENING_AUCTION, Phase.CLOSING_AUCTION)
NS = 1_000_000_000


class Agent:
    """Base of the agents. Subclasses set ``kind`` and implement ``wait`` and ``decide``."""

    kind = "agent"
    phases: tuple[Phase, ...] = (CONTINUOUS,)

    def __init__(
        self,
        sim: Simulator,
        name: str,
        account: str,
        spec: InstrumentProfile,
        rng: Random,
        latency_ns: int,
    ) -> None:
        self.sim = sim
        self.name = name
        self.account = account
        self.spec = spec
        self.iid = spec.id
        self.inst = spec.instrument
        self.grid = Grid(spec.instrument)
        self.lot = spec.instrument.lot_size
        self.rng = rng
        self.latency_ns = latency_ns
        self._n = 0
        self._cid_prefix = f"{spec.instrument.symbol}.{name}."
        self.sent = 0
        self._flows = sim._flows  # the simulator's live table (reconfigure replaces its entries)

    @property
    def flow(self) -> FlowConfig:
        return self._flows[self.iid]

    def next_cid(self) -> str:
        self._n += 1
        return f"{self._cid_prefix}{self._n}"

    def trades_in(self, phase: Phase) -> bool:
        return phase in self.phases

    # -- what subclasses implement ---------------------------------------------------------------
    def wait(self, phase: Phase) -> int:
        """Nanoseconds until the next decision."""
        raise NotImplementedError

    def decide(self, phase: Phase) -> list[Command]:
        """The commands to send now (after latency), from what the agent sees."""
        raise NotImplementedError

    def after_send(self, cmd: Command) -> None:
        """Called after each command ran (track the order it created)."""

    def idle(self, phase: Phase) -> None:
        """Called when the agent stops trading (phase change, pause)."""

    # -- the process -----------------------------------------------------------------------------
    def run(self) -> Generator[Any, Any, None]:
        sim = self.sim
        env = sim.env
        view = sim.view
        iid = self.iid
        phases = self.phases
        timeout = env.timeout
        # view.phase(iid) inlined (view.engine is read each time: a failed command rebuilds it).
        while not sim.stopped:
            phase = view.engine.books[iid].phase
            if sim.paused or phase not in phases:
                self.idle(phase)
                yield sim.changed()
                continue
            yield timeout(self.wait(phase))
            if sim.stopped:
                return
            phase = view.engine.books[iid].phase
            if sim.paused or phase not in phases:
                continue
            cmds = self.decide(phase)
            if not cmds:
                continue
            if self.latency_ns:
                yield timeout(self.latency_ns)
                if sim.stopped or sim.paused or view.engine.books[iid].phase not in phases:
                    continue
            for cmd in cmds:
                sim.execute(cmd)
                self.sent += 1
                self.after_send(cmd)

    # -- helpers ---------------------------------------------------------------------------------
    def lots(self, mean: float) -> int:
        """A geometric-like size in lots with the given mean (at least one lot)."""
        if mean <= 1:
            return 1
        return 1 + int(self.rng.expovariate(1.0 / (mean - 1.0)))

    def clamp(self, price: int) -> int:
        """``price`` moved inside the daily limits (on the grid)."""
        lo, hi = self.sim.view.limits(self.iid)
        if price < lo:
            price = self.grid.up(lo)
        if hi is not None and price > hi:
            price = self.grid.down(hi)
        return price

    def rate_now(self, base: float, phase: Phase) -> float:
        """``base`` (per second) shaped by the intraday intensity and the instrument's activity."""
        f = self.flow
        if phase is CONTINUOUS or phase is Phase.CLOSING_AUCTION:
            u = self.sim.intensity(self.iid, self.sim.env.now)
        else:
            u = f.preopen_rate_factor
        return base * self.spec.activity * u * self.sim.activity
