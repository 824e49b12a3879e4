"""The virtual clock drives venue phases: ChangePhase at each transition, PhaseChanged logged at
the exact time, in a deterministic order."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sim.clock import VirtualClock, venue_calendar
from sim.clock.scheduler import SessionScheduler
from system.clock import from_datetime, iso
from system.engine.phases import ChangePhase, Phase, PhaseChanged
from system.eventlog.memory import MemoryEventStore
from system.runtime import Component, Context, Runtime, applies, handles

TOKYO = ZoneInfo("Asia/Tokyo")


class PhaseBoard(Component):
    """A tiny stand-in for the engine: records each venue's phase from the log."""

    name = "phases"

    def __init__(self) -> None:
        self.phase: dict[str, Phase] = {}

    @handles(ChangePhase)
    def change(self, cmd: ChangePhase, ctx: Context) -> bool:
        prev = self.phase.get(cmd.venue, Phase.CLOSED)
        ctx.emit(PhaseChanged(cmd.venue, cmd.phase, prev, cmd.instrument, cmd.reason))
        return True

    @applies(PhaseChanged)
    def _changed(self, ev: PhaseChanged) -> None:
        self.phase[ev.venue] = ev.phase


def tokyo(y: int, mo: int, d: int, h: int, mi: int = 0) -> int:
    return from_datetime(datetime(y, mo, d, h, mi, tzinfo=TOKYO))


def run_day(venues: list[str], start: int, end: int) -> tuple[Runtime, list[tuple[str, str, Phase]]]:
    clock = VirtualClock(start)
    rt = Runtime(MemoryEventStore(clock), clock, build=lambda: [PhaseBoard()])
    SessionScheduler(clock, rt, venues, until_ns=end).start()
    clock.run()
    changes = [
        (iso(e.valid_time, "Asia/Tokyo"), e.record.venue, e.record.phase)
        for e in rt.store.read(1)
        if isinstance(e.record, PhaseChanged)
    ]
    return rt, changes


def test_running_a_tokyo_day_logs_every_phase_at_its_time() -> None:
    """Running the clock through a TSE day appends PhaseChanged at each timetable instant."""
    rt, changes = run_day(["XTKS"], tokyo(2024, 11, 5, 0), tokyo(2024, 11, 5, 23))
    assert [(t[11:16], p) for t, _, p in changes] == [
        ("08:00", Phase.PRE_OPEN), ("09:00", Phase.OPENING_AUCTION), ("09:00", Phase.CONTINUOUS),
        ("11:30", Phase.CLOSING_AUCTION), ("11:30", Phase.BREAK), ("12:05", Phase.PRE_OPEN),
        ("12:30", Phase.OPENING_AUCTION), ("12:30", Phase.CONTINUOUS),
        ("15:25", Phase.CLOSING_AUCTION), ("15:30", Phase.CLOSED),
    ]
    assert rt.component(PhaseBoard).phase["XTKS"] is Phase.CLOSED


def test_phase_changes_match_the_calendar_exactly() -> None:
    """Over several days and venues the logged times equal the calendars' transitions."""
    start, end = tokyo(2024, 3, 8, 0), tokyo(2024, 3, 13, 0)
    _, changes = run_day(["XTKS", "CME"], start, end)
    expected = []
    for code in ("XTKS", "CME"):
        trs = venue_calendar(code).transitions(start + 1, end + 1)
        expected += [(tr.at, code, tr.phase) for tr, _ in trs]
    got = [(from_datetime(datetime.fromisoformat(t)), v, p) for t, v, p in changes]
    # Sync at start adds CME's state (CONTINUOUS on Friday morning Tokyo = Thursday evening Chicago).
    assert got[0][1:] == ("CME", Phase.CONTINUOUS)
    assert got[1:] == sorted(expected, key=lambda x: x[0])


def test_same_instant_changes_follow_venue_order() -> None:
    """Two venues changing at the same instant appear in the order the venues were given."""
    start, end = tokyo(2024, 6, 3, 0), tokyo(2024, 6, 3, 12)
    _, a = run_day(["CRYPTO", "XTKS"], start, end)
    _, b = run_day(["CRYPTO", "XTKS"], start, end)
    assert a == b
    # 09:00 Tokyo is 00:00 UTC: the crypto cut comes before Tokyo's open, as given.
    nine = [(v, p) for t, v, p in a if t[11:16] == "09:00"]
    assert nine == [("CRYPTO", Phase.CLOSED), ("CRYPTO", Phase.CONTINUOUS),
                    ("XTKS", Phase.OPENING_AUCTION), ("XTKS", Phase.CONTINUOUS)]


def test_replay_reproduces_the_phases() -> None:
    """Folding the log into fresh components restores the phase the scheduler left."""
    rt, _ = run_day(["XTKS"], tokyo(2024, 11, 5, 0), tokyo(2024, 11, 5, 10))
    replayed = Runtime(rt.store, rt.clock, build=lambda: [PhaseBoard()])
    assert replayed.component(PhaseBoard).phase == {"XTKS": Phase.CONTINUOUS}


def test_scheduler_stops_when_asked() -> None:
    """After stop() no further phase change fires."""
    clock = VirtualClock(tokyo(2024, 11, 5, 0))
    rt = Runtime(MemoryEventStore(clock), clock, build=lambda: [PhaseBoard()])
    sched = SessionScheduler(clock, rt, ["XTKS"])
    sched.start()
    clock.run_until(tokyo(2024, 11, 5, 10))
    sched.stop()
    clock.run_until(tokyo(2024, 11, 6, 10))
    assert [f.phase for f in sched.fired][-1] is Phase.CONTINUOUS
    assert not clock.pending()
