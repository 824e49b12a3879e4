"""A simulated trading day from a profile and a date: the World, the Simulator and the run loop
that ``chronex sim``, bench/sim_day.py and the sample-day test share."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import msgspec

from sim.clock import CalendarError, Session, venue_calendar
from sim.markets.profile import VenueProfile, load_profile
from sim.markets.simulator import Simulator, SimulatorError, check_activity, check_seed
from sim.world import World
from system.bootstrap import SystemConfig
from system.clock import NS_PER_SECOND, iso
from system.engine import Phase

Progress = Callable[[int, int], None]  # (clock time ns, log entries so far)


@dataclass
class SimulatedDay:
    profile: VenueProfile
    trade_date: date
    session: Session
    start_ns: int
    end_ns: int
    world: World
    simulator: Simulator

    def run(
        self, progress: Progress | None = None, *, step_ns: int = 60 * NS_PER_SECOND, batch: int = 2000
    ) -> None:
        """Run the clock from start to end, writing the log in batches of ``batch`` commands."""
        world = self.world
        stats = self.simulator.stats
        # Everything built so far (calendars, profiles, the system) lives for the whole day: freeze
        # it so full collections scan only what the day creates. Measured on a 15-minute,
        # 12-instrument run: tracked objects 79k -> 2.4k, no full collection left.
        gc.collect()
        gc.freeze()
        try:
            with world.runtime.batched(batch):
                t = world.now()
                while t < self.end_ns:
                    t = min(t + step_ns, self.end_ns)
                    world.run_until(t)
                    if progress is not None:
                        progress(t, stats.events)
        finally:
            gc.unfreeze()
        if progress is not None:
            progress(self.end_ns, stats.events)

    def finish(self) -> None:
        """The day ran to its end: log ``RunFinished``, the log's last entry."""
        self.world.finish()

    def close(self) -> None:
        self.world.close()


def flow_label(profile: VenueProfile) -> str:
    """A short hash of every flow parameter and instrument the day runs with (for the manifest)."""
    blob = msgspec.json.encode(
        [
            (
                s.id,
                s.activity,
                s.idio_daily_vol,
                s.factors,
                msgspec.structs.asdict(s.instrument),
                repr(s.flow),
            )
            for s in profile.specs
        ]
    )
    return hashlib.sha256(blob).hexdigest()[:16]


def simulated_day(
    venue: str,
    trade_date: date,
    *,
    instruments: Iterable[str] | None = None,
    seed: int = 0,
    log: str | Path = "memory://",
    start_ns: int | None = None,
    until_ns: int | None = None,
    flow: dict[str, Any] | None = None,
    activity: float = 1.0,
    risk: Any = None,
    pricing: Any = None,
) -> SimulatedDay:
    """Set up one trading day of ``venue`` (a profile name) on ``trade_date``.

    The day starts at the session's first transition (pre-open) unless ``start_ns`` says otherwise
    and ends at the close unless ``until_ns`` is earlier. ``risk`` and ``pricing`` are the parsed
    configurations of those engines (None: not running); with risk on, agents trade from the
    accounts ``simulator.accounts()`` lists (the default account's limits apply). Raises
    ProfileError / SimulatorError with the bad value named.
    """
    check_seed(seed)
    check_activity(activity)
    profile = load_profile(venue).select(list(instruments) if instruments else None)
    if flow:
        profile = profile.with_flow(**flow)
    cal = venue_calendar(profile.calendar)
    try:
        session = cal.session(trade_date)
    except CalendarError as e:
        raise SimulatorError(str(e)) from None
    if session is None:
        nxt = cal.next_business_day(trade_date)
        raise SimulatorError(
            f"{trade_date.isoformat()} is not a trading day on {profile.calendar} (next: {nxt.isoformat()})"
        )
    first, close = session.transitions[0].at, session.close
    start = first if start_ns is None else start_ns
    end = close if until_ns is None else until_ns
    if not first <= start < close:
        raise SimulatorError(
            f"start {iso(start, session.tz)} is outside the {trade_date} session "
            f"{iso(first, session.tz)}..{iso(close, session.tz)}"
        )
    if not start < end <= close:
        raise SimulatorError(
            f"until {iso(end, session.tz)} must be after the start {iso(start, session.tz)} "
            f"and at or before the close {iso(close, session.tz)}"
        )
    label = (
        f"chronex sim {profile.name} {trade_date.isoformat()} seed={seed} "
        f"instruments={','.join(profile.ids)} flow={flow_label(profile)} activity={activity}"
    )
    config = SystemConfig(
        seed=seed,
        instruments=profile.instruments,
        venues=(profile.calendar,),
        default_phase=Phase.CLOSED,
        risk=risk,
        pricing=pricing,
        label=label,
    )
    world = World(config, start_ns=start, log=log, until_ns=end)
    sim = Simulator(world, profile, seed=seed)
    sim.set_activity(activity)
    sim.start()
    return SimulatedDay(profile, trade_date, session, start, end, world, sim)
