"""A World: the trading system on a virtual clock, with its venues' sessions and its timers.

This is what scenarios, simulators and re-runs hold. Every command goes through ``World.execute``
so the engine's GTD expiries and band-halt resumptions are armed as clock timers, which fire as
logged ``ExpireDue`` commands at their exact times.

With pricing configured (docs/pricing.md) the World also: hands each venue's calendar to the bar
read model (bars align to the venue's sessions and zone, 1d bars are its trade dates); executes
``RollReferencePrices(venue)`` at the start of each session (its first transition, right after
the phase change); and executes ``RecomputeMarks`` at the instant a composite mark's source goes
stale. All three are timers on the clock that run logged commands, so a re-run reproduces them.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sim.clock.calendar import CalendarError, VenueCalendar
from sim.clock.registry import venue_calendar
from sim.clock.scheduler import PHASE_PRIORITY, SessionScheduler
from sim.clock.virtual import Timer, VirtualClock
from system.bootstrap import SystemConfig, TradingSystem
from system.engine import ChangePhase, ExpireDue, Phase
from system.engine.deviations import REFERENCE, Rules
from system.eventlog import EventStore, open_log
from system.pricing import Pricing, RecomputeMarks, RollReferencePrices, as_pricing_config, venue_sessions
from system.runtime import Outcome

# At one instant: phase changes (-10), then the reference roll of a session's start, then marks
# recomputed, then expiries, then agents (0).
ROLL_PRIORITY = PHASE_PRIORITY + 2
RECOMPUTE_PRIORITY = PHASE_PRIORITY + 3
EXPIRY_PRIORITY = -5
# The commands a World's own timers execute: a replay onto another date makes its own.
CLOCK_DRIVEN: tuple[type, ...] = (ChangePhase, ExpireDue, RollReferencePrices, RecomputeMarks)


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
        warm_start: bool = False,
        rules: Rules = REFERENCE,
    ) -> None:
        self.config = config
        self.clock = clock if clock is not None else VirtualClock(start_ns)
        self.store = store if store is not None else open_log(log, self.clock)
        self.until_ns = until_ns
        self.pricing = as_pricing_config(config.pricing)
        self.calendars: dict[str, VenueCalendar] = (
            {v: venue_calendar(v) for v in config.venues} if sessions or self.pricing is not None else {}
        )
        if self.pricing is not None:
            with venue_sessions(self.calendars):  # bars align to the venues' sessions
                self.system = TradingSystem(
                    config, self.store, self.clock, warm_start=warm_start, rules=rules
                )
        else:
            self.system = TradingSystem(config, self.store, self.clock, warm_start=warm_start, rules=rules)
        self.system.start()
        self._expiry: Timer | None = None
        self._recompute: Timer | None = None
        self.scheduler: SessionScheduler | None = None
        if sessions and config.venues:
            self.scheduler = SessionScheduler(self.clock, self, self.calendars, until_ns=until_ns)
            self.scheduler.start()
            self._sync_closed()
            if self.pricing is not None:
                for venue in self.calendars:
                    self._plan_roll(venue, self.clock.now_ns())
        self._arm_expiry()
        self._arm_recompute()

    @property
    def runtime(self) -> Any:
        return self.system.runtime

    @property
    def engine(self) -> Any:
        return self.system.engine

    def execute(self, command: Any, *, command_id: str | None = None, correlation_id: str = "") -> Outcome:
        out = self.system.execute(command, command_id=command_id, correlation_id=correlation_id)
        self._arm_expiry()
        if self.pricing is not None:
            self._arm_recompute()
        return out

    def _sync_closed(self) -> None:
        """A venue whose calendar says CLOSED now is closed in the engine too.

        The scheduler's start-up sync only moves venues into an open phase; without this, a system
        whose default phase is CONTINUOUS would trade on a holiday or before the pre-open.
        """
        now = self.clock.now_ns()
        for venue, cal in self.calendars.items():
            if cal.phase(now) is Phase.CLOSED and self.engine.phase_of_venue(venue) is not Phase.CLOSED:
                self.execute(ChangePhase(venue=venue, phase=Phase.CLOSED, reason="sync at start"))

    # -- pricing timers --------------------------------------------------------------------------
    def _plan_roll(self, venue: str, after: int) -> None:
        """Arm the reference roll of ``venue``'s next session starting at or after ``after``."""
        at = _next_session_start(self.calendars[venue], after)
        if at is None or (self.until_ns is not None and at > self.until_ns):
            return
        self.clock.call_at(
            at, lambda: self._roll(venue, at), priority=ROLL_PRIORITY, label=f"{venue} reference roll"
        )

    def _roll(self, venue: str, at: int) -> None:
        self.execute(RollReferencePrices(venue))
        self._plan_roll(venue, at + 1)

    def _arm_recompute(self) -> None:
        try:
            pricing: Pricing = self.system.component(Pricing)
        except LookupError:
            return
        t = pricing.next_stale(self.clock.now_ns())
        cur = self._recompute
        if cur is not None and not cur.cancelled and cur.time == t:
            return
        if cur is not None:
            cur.cancel()
        self._recompute = None
        if t is not None and (self.until_ns is None or t <= self.until_ns):
            self._recompute = self.clock.call_at(
                t, self._fire_recompute, priority=RECOMPUTE_PRIORITY, label="recompute marks"
            )

    def _fire_recompute(self) -> None:
        self._recompute = None
        self.execute(RecomputeMarks())

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
            self._expiry = self.clock.call_at(
                at, self._fire_expiry, priority=EXPIRY_PRIORITY, label="expire due"
            )

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

    def finish(self) -> None:
        """End the run cleanly: ``RunFinished`` goes last (see TradingSystem.finish)."""
        self.system.finish()

    def close(self) -> None:
        self.runtime.flush()
        self.store.close()


def _next_session_start(cal: VenueCalendar, after: int) -> int | None:
    """The first transition (pre-open) of the first session of ``cal`` at or after ``after``."""
    try:
        d = cal.trade_date(after)
        last = min(d + timedelta(days=14), cal.last)
        for session in cal.sessions(d, last):
            start = session.transitions[0].at
            if start >= after:
                return start
    except CalendarError:
        return None  # beyond the calendar's horizon: nothing more to plan
    return None
