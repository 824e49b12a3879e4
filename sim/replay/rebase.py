"""Rebase: the recorded order flow replayed onto another date, under that date's sessions.

Every order-flow command keeps its venue-local wall time (10:31:07.25 Tokyo stays 10:31:07.25
Tokyo; across a DST change the UTC instant moves, the local time does not) and lands on the new
date plus the same number of days from the run's first local date. Phases and expiries are not
copied: a ``World`` on the new date runs its venues' session scheduler and expiry timers, so a
holiday leaves the venue CLOSED and the engine rejects the flow, and a half day closes early. The
replayer never decides an outcome itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec

from sim.clock.registry import venue_calendar
from sim.clock.virtual import VirtualClock
from sim.replay.config import recorded_config, recorded_manifest
from sim.replay.errors import ReplayError
from sim.world import CLOCK_DRIVEN, World
from system.bootstrap import SystemConfig
from system.clock import from_datetime, to_datetime
from system.engine import (
    ChangePhase,
    ListInstrument,
    OrderRejected,
    Phase,
)
from system.eventlog.records import Command
from system.eventlog.store import EventStore

# Clock-driven inputs (phases, expiries, reference rolls, mark recomputes): the new date's
# calendar and timers make their own.
_CLOCK_DRIVEN = CLOCK_DRIVEN
# Command fields that hold instants and move with the flow.
_TIME_FIELDS = ("expire_time", "trade_time", "at")


def shift(t: int, zone: ZoneInfo, base: date, new: date) -> int:
    """``t`` moved to the same local wall time, ``(local date - base)`` days after ``new``."""
    local = to_datetime(t, zone)
    days = (local.date() - base).days
    moved = datetime.combine(new + timedelta(days=days), local.timetz().replace(tzinfo=None), tzinfo=zone)
    return from_datetime(moved) + t % 1000  # keep the nanoseconds a datetime drops


@dataclass
class RebaseResult:
    commands: int = 0
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)  # reason -> count
    trades: int = 0
    head_seq: int = 0


def rebase(
    store: EventStore,
    new_date: date,
    out: str | Path | EventStore,
    *,
    config: SystemConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RebaseResult:
    cfg = config if config is not None else recorded_config(store)
    started, _ = recorded_manifest(store)
    if started is None:
        raise ReplayError(f"{store.url}: no RunStarted manifest, so no start time to rebase from")
    if not cfg.venues:
        raise ReplayError(f"{store.url}: the run names no venues, so there is no calendar to rebase onto")
    cals = {v: venue_calendar(v) for v in cfg.venues}
    primary = ZoneInfo(cals[cfg.venues[0]].tz)
    venue_of = {i.id: i.venue for i in cfg.instruments}
    base = to_datetime(started.start_time, primary).date()

    def zone_for(cmd: Command) -> ZoneInfo:
        inst = getattr(cmd, "instrument", None)
        venue = venue_of.get(inst) if isinstance(inst, str) else None
        cal = cals.get(venue) if venue is not None else None
        return ZoneInfo(cal.tz) if cal is not None else primary

    listed = {i.id for i in cfg.instruments}
    flow: list[tuple[int, int, Command]] = []
    end = started.start_time
    for ev in store.replay(1):
        rec = ev.record
        end = max(end, ev.valid_time)
        if rec.kind != "command" or isinstance(rec, _CLOCK_DRIVEN):
            continue
        if isinstance(rec, ListInstrument):
            if rec.instrument.id in listed:
                continue  # the new run lists its configured instruments itself
            venue_of[rec.instrument.id] = rec.instrument.venue
        z = zone_for(rec)  # type: ignore[arg-type]
        moved = {
            f: shift(getattr(rec, f), z, base, new_date)
            for f in _TIME_FIELDS
            if isinstance(getattr(rec, f, None), int)
        }
        if moved:
            rec = msgspec.structs.replace(rec, **moved)
        flow.append((shift(ev.valid_time, z, base, new_date), ev.seq, rec))  # type: ignore[arg-type]
    flow.sort(key=lambda x: (x[0], x[1]))
    start = shift(started.start_time, primary, base, new_date)
    stop = shift(end, primary, base, new_date)
    if flow and flow[0][0] < start:
        start = flow[0][0]
    if isinstance(out, EventStore):
        # A store on a virtual clock is driven by the rebased run, so its recorded times are the
        # new date's; any other clock stamps what it says.
        clock = out.clock if isinstance(out.clock, VirtualClock) else None
        if clock is not None:
            clock.set(start)
        world = World(cfg, start_ns=start, until_ns=max(stop, start), store=out, clock=clock)
    else:
        world = World(cfg, start_ns=start, until_ns=max(stop, start), log=out)
    # Bring each venue to the calendar's phase at the start, CLOSED included (the scheduler only
    # opens venues): a holiday must find the books closed whatever the run's default phase.
    for name, cal in cals.items():
        if cal.phase(start) is Phase.CLOSED and world.engine.phase_of_venue(name) is not Phase.CLOSED:
            world.execute(ChangePhase(venue=name, phase=Phase.CLOSED, reason="rebase: closed at start"))
    res = RebaseResult()
    for k, (t, _, cmd) in enumerate(flow):
        world.run_until(max(t, world.now()))
        outcome = world.execute(cmd)
        res.commands += 1
        for rec in outcome.records:
            if isinstance(rec, OrderRejected):
                key = str(rec.reason)
                res.rejected[key] = res.rejected.get(key, 0) + 1
            elif rec.name == "OrderAccepted":
                res.accepted += 1
        if progress is not None and k % 10_000 == 0:
            progress(k, len(flow))
    world.run_until(max(stop, world.now()))
    world.finish()
    # Every trade of the run, the auctions' too (those come from the venue scheduler, not from a
    # command of the flow): the engine numbers trades from 1 in a fresh world.
    res.trades = world.engine.next_trade_id - 1
    res.head_seq = world.store.head().seq
    if not isinstance(out, EventStore):
        world.close()
    return res
