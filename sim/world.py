"""A World: the trading system on a virtual clock, with its venues' sessions and its timers.

This is what scenarios, simulators and re-runs hold. Every command goes through ``World.execute``
so the engine's GTD expiries and band-halt resumptions are armed as clock timers, which fire as
logged ``ExpireDue`` commands at their exact times.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim.clock.scheduler import SessionScheduler
from sim.clock.virtual import Timer, VirtualClock
from system.bootstrap import SystemConfig, TradingSystem
from system.engine import ExpireDue
from system.eventlog import EventStore, open_log
from system.runtime import Outcome

# Expiry timers run after phase changes at the same instant, before agents.
EXPIRY_PRIORITY = -5


class World:
    def __init__(
        self,
        config: SystemConfig,
        *,
        start_ns: int,
        log: str | Path = "memory://",
        store: EventStore | None = None,
        clock: VirtualClock | None = None,
        sessions: bool = True,
        until_ns: int | None = None,
    ) -> None:
        self.config = config
        self.clock = clock if clock is not None else VirtualClock(start_ns)
        self.store = store if store is not None else open_log(log, self.clock)
        self.system = TradingSystem(config, self.store, self.clock)
        self.system.start()
        self._expiry: Timer | None = None
        self.scheduler: SessionScheduler | None = None
        if sessions and config.venues:
            self.scheduler = SessionScheduler(self.clock, self, list(config.venues), until_ns=until_ns)
            self.scheduler.start()
        self._arm_expiry()

    @property
    def runtime(self) -> Any:
        return self.system.runtime

    @property
    def engine(self) -> Any:
        return self.system.engine

    def execute(self, command: Any, **kw: Any) -> Outcome:
        out = self.system.execute(command, **kw)
        self._arm_expiry()
        return out

    def _arm_expiry(self) -> None:
        t = self.system.engine.next_expiry()
        cur = self._expiry
        if cur is not None and not cur.cancelled and cur.time == t:
            return
        if cur is not None:
            cur.cancel()
        self._expiry = None
        if t is not None:
            at = max(t, self.clock.now_ns())
            self._expiry = self.clock.call_at(at, self._fire_expiry, priority=EXPIRY_PRIORITY, label="expire due")

    def _fire_expiry(self) -> None:
        self._expiry = None
        self.execute(ExpireDue())

    # -- time ------------------------------------------------------------------------------------
    def now(self) -> int:
        return self.clock.now_ns()

    def run_until(self, t_ns: int) -> None:
        self.clock.run_until(t_ns)

    def advance(self, delta_ns: int) -> None:
        self.clock.advance(delta_ns)

    def close(self) -> None:
        self.runtime.flush()
        self.store.close()
