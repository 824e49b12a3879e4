"""The session scheduler: the virtual clock drives venue phases.

For every day the clock runs through, the scheduler puts a timer at each of the day's phase
transitions; when it fires it executes ``ChangePhase`` through the executor (the runtime), so the
engine answers with ``PhaseChanged`` at the exact time and the log holds both for replay.

Order is deterministic: timers fire by ``(time, priority, sequence)``; the scheduler plans a
window (one UTC day) at a time and schedules its transitions sorted by (time, venue order given,
order in the timetable), so two venues changing at the same instant always appear in the same order
and a zero-length auction shows its two changes in timetable order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sim.clock.calendar import NS_PER_DAY, Session, Transition, VenueCalendar
from sim.clock.registry import venue_calendar
from sim.clock.virtual import Timer, VirtualClock
from system.engine.phases import ChangePhase, Phase

# Planning runs before phase changes due at the same instant; phase changes run before ordinary
# timers (priority 0) and simpy processes, so agents see the new phase.
PLAN_PRIORITY = -20
PHASE_PRIORITY = -10


class Executor(Protocol):
    """Anything that runs a command: ``system.runtime.Runtime`` or a test double."""

    def execute(self, command: Any) -> Any: ...


@dataclass(frozen=True, slots=True)
class Fired:
    """A ChangePhase the scheduler executed, for inspection."""

    at: int
    venue: str
    phase: Phase
    trade_date: str


class SessionScheduler:
    """Executes each venue's ``ChangePhase`` commands at their transition times on ``clock``.

    ``venues`` is a list of names/calendars (the venue field of the commands is the calendar's
    code) or a mapping from venue name to calendar. ``until_ns`` stops planning after that time,
    so ``clock.run()`` terminates; without it planning continues as long as the clock moves.
    ``sync`` first brings each venue to the phase it should be in at the start time (a scenario
    starting at 10:00 Tokyo starts in CONTINUOUS).
    """

    def __init__(
        self,
        clock: VirtualClock,
        executor: Executor,
        venues: Iterable[VenueCalendar | str] | Mapping[str, VenueCalendar],
        *,
        instrument: str | None = None,
        until_ns: int | None = None,
        sync: bool = True,
    ) -> None:
        self.clock = clock
        self.executor = executor
        self.instrument = instrument
        self.until_ns = until_ns
        self.sync = sync
        if isinstance(venues, Mapping):
            self.venues: list[tuple[str, VenueCalendar]] = list(venues.items())
        else:
            cals = [venue_calendar(v) if isinstance(v, str) else v for v in venues]
            self.venues = [(c.code, c) for c in cals]
        self.fired: list[Fired] = []
        self._timers: list[Timer] = []
        self._started = False

    def start(self) -> None:
        """Sync (optionally) and plan from the clock's current time."""
        if self._started:
            return
        self._started = True
        now = self.clock.now_ns()
        start = now
        if self.sync:
            for name, cal in self.venues:
                phase = cal.phase(now)
                if phase is not Phase.CLOSED:
                    self._execute(name, phase, now, cal.trade_date(now).isoformat(), "sync at start")
            start = now + 1  # transitions at `now` are part of the synced phase
        self._plan(start)

    def stop(self) -> None:
        """Cancel every timer not yet fired."""
        for t in self._timers:
            t.cancel()
        self._timers.clear()

    def _plan(self, t0: int) -> None:
        t1 = (t0 // NS_PER_DAY + 1) * NS_PER_DAY  # the next UTC midnight
        if self.until_ns is not None:
            t1 = min(t1, self.until_ns + 1)
        due: list[tuple[int, int, int, str, Transition, Session]] = []
        for vi, (name, cal) in enumerate(self.venues):
            for k, (tr, session) in enumerate(cal.transitions(t0, t1)):
                due.append((tr.at, vi, k, name, tr, session))
        due.sort(key=lambda d: (d[0], d[1], d[2]))
        self._timers = [t for t in self._timers if not t.cancelled and t.time >= t0]
        for at, _, _, name, tr, session in due:
            self._timers.append(
                self.clock.call_at(
                    at,
                    self._firer(name, tr.phase, at, session.trade_date.isoformat()),
                    priority=PHASE_PRIORITY,
                    label=f"{name} {tr.phase}",
                )
            )
        if self.until_ns is None or t1 <= self.until_ns:
            self._timers.append(
                self.clock.call_at(t1, lambda: self._plan(t1), priority=PLAN_PRIORITY, label="plan sessions")
            )

    def _firer(self, venue: str, phase: Phase, at: int, trade_date: str) -> Any:
        def fire() -> None:
            self._execute(venue, phase, at, trade_date, f"timetable {trade_date}")

        return fire

    def _execute(self, venue: str, phase: Phase, at: int, trade_date: str, reason: str) -> None:
        self.fired.append(Fired(at, venue, phase, trade_date))
        cmd = ChangePhase(venue=venue, phase=phase, instrument=self.instrument, reason=reason)
        self.executor.execute(cmd)
