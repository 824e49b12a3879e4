"""The clock port and the virtual clock: ordering, cancelling, monotonicity, simpy on the same time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.clock.virtual import ClockError, VirtualClock
from system.clock import Clock, FixedClock, WallClock, from_datetime, iso, to_datetime

S = 1_000_000_000


def test_timers_fire_by_time_then_priority_then_scheduling_order() -> None:
    """Timers fire in (time, priority, sequence) order, whatever order they were added in."""
    c = VirtualClock(0)
    fired: list[str] = []
    c.call_at(20, lambda: fired.append("t20"))
    c.call_at(10, lambda: fired.append("t10-p1-a"), priority=1)
    c.call_at(10, lambda: fired.append("t10-p0"))
    c.call_at(10, lambda: fired.append("t10-p1-b"), priority=1)
    c.call_at(10, lambda: fired.append("t10-p-1"), priority=-1)
    c.run_until(100)
    assert fired == ["t10-p-1", "t10-p0", "t10-p1-a", "t10-p1-b", "t20"]
    assert c.now_ns() == 100


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(-2, 2)), max_size=30))
def test_firing_order_is_the_sorted_key(timers: list[tuple[int, int]]) -> None:
    """For any set of timers the firing order is sorted by (time, priority, sequence)."""
    c = VirtualClock(0)
    fired: list[tuple[int, int, int]] = []
    for i, (t, p) in enumerate(timers):
        c.call_at(t, lambda t=t, p=p, i=i: fired.append((t, p, i)), priority=p)
    c.run()
    assert fired == sorted((t, p, i) for i, (t, p) in enumerate(timers))


def test_each_callback_sees_its_own_time() -> None:
    """A callback runs with the clock at its due time, and can schedule more at that instant."""
    c = VirtualClock(0)
    seen: list[tuple[str, int]] = []

    def first() -> None:
        seen.append(("first", c.now_ns()))
        c.call_later(0, lambda: seen.append(("chained", c.now_ns())))

    c.call_at(7, first)
    c.call_at(9, lambda: seen.append(("later", c.now_ns())))
    c.advance(10)
    assert seen == [("first", 7), ("chained", 7), ("later", 9)]


def test_cancel() -> None:
    """A cancelled timer never fires and is not pending."""
    c = VirtualClock(0)
    fired: list[int] = []
    keep = c.call_at(5, lambda: fired.append(5))
    drop = c.call_at(3, lambda: fired.append(3))
    drop.cancel()
    assert c.pending() == [keep]
    c.run_until(10)
    assert fired == [5]


def test_never_backwards_while_timers_pend() -> None:
    """Time moves back only when nothing is scheduled; advance, run_until and call_at refuse the past."""
    c = VirtualClock(100)
    c.set(50)  # nothing pending: time travel before a run is allowed
    assert c.now_ns() == 50
    c.call_at(80, lambda: None)
    with pytest.raises(ClockError):
        c.set(10)
    with pytest.raises(ClockError):
        c.run_until(40)
    with pytest.raises(ClockError):
        c.advance(-1)
    with pytest.raises(ClockError):
        c.call_at(49, lambda: None)
    c.set(90)  # forward runs what is due
    assert c.now_ns() == 90 and c.pending() == []


def test_listeners_hear_every_change() -> None:
    """on_change listeners receive each new time, including timer instants on the way."""
    c = VirtualClock(0)
    heard: list[int] = []
    c.on_change(heard.append)
    c.call_at(3, lambda: None)
    c.advance(5)
    assert heard == [3, 5]


def test_simpy_processes_interleave_with_clock_timers() -> None:
    """simpy processes and clock timers run on one time line, clock timers first on ties."""

    def run_once() -> list[tuple[int, str]]:
        c = VirtualClock(1_000)
        env = c.env
        log: list[tuple[int, str]] = []

        def agent(name: str, period: int):  # type: ignore[no-untyped-def]
            while True:
                yield env.timeout(period)
                log.append((c.now_ns(), name))

        env.process(agent("fast", 2))
        env.process(agent("slow", 3))
        for t in (1_002, 1_003, 1_005, 1_006):
            c.call_at(t, lambda t=t: log.append((t, "timer")))
        c.run_until(1_006)
        assert env.now == 1_006
        return log

    log = run_once()
    assert log == [
        (1_002, "timer"), (1_002, "fast"),
        (1_003, "timer"), (1_003, "slow"),
        (1_004, "fast"),
        (1_005, "timer"),
        (1_006, "timer"), (1_006, "slow"), (1_006, "fast"),  # slow's timeout was scheduled first
    ]
    assert run_once() == log


def test_a_timer_set_by_a_process_runs_before_the_next_process_due_at_that_time() -> None:
    """A timer a simpy process schedules for now fires before other processes due at the same instant
    (as an order's expiry timer must), and a cancelled one never fires."""
    c = VirtualClock(0)
    env = c.env
    log: list[str] = []

    def first():  # type: ignore[no-untyped-def]
        yield env.timeout(10)
        log.append("first")
        c.call_at(10, lambda: log.append("timer at 10"))
        c.call_at(10, lambda: log.append("cancelled")).cancel()
        c.call_at(11, lambda: log.append("timer at 11"))

    def second():  # type: ignore[no-untyped-def]
        yield env.timeout(10)
        log.append("second")
        yield env.timeout(1)
        log.append("second again")

    env.process(first())
    env.process(second())
    c.run_until(20)
    assert log == ["first", "timer at 10", "second", "timer at 11", "second again"]
    assert c.now_ns() == 20 and env.now == 20


def test_simpy_timeouts_start_from_the_clock_time_after_a_jump() -> None:
    """After the clock advances with no simpy events due, a new timeout counts from the clock's time."""
    c = VirtualClock(0)
    env = c.env
    c.advance(100)
    done: list[int] = []

    def p():  # type: ignore[no-untyped-def]
        yield env.timeout(5)
        done.append(c.now_ns())

    env.process(p())
    c.run()
    assert done == [105]


def test_clock_protocol_and_fixed_and_wall_clocks() -> None:
    """Every clock satisfies the port; the wall clock never goes backwards."""
    for clock in (VirtualClock(), FixedClock(5), WallClock()):
        assert isinstance(clock, Clock)
    w = WallClock()
    a, b = w.now_ns(), w.now_ns()
    assert b >= a > 1_600_000_000 * S
    assert FixedClock(7).now_ns() == 7


def test_datetime_helpers_round_trip() -> None:
    """ns <-> aware datetime conversions are exact to the microsecond and zone-aware."""
    dt = datetime(2027, 1, 4, 9, 0, 0, 123456, tzinfo=timezone(timedelta(hours=9)))
    ns = from_datetime(dt)
    assert to_datetime(ns) == dt.astimezone(UTC)
    assert to_datetime(ns, "Asia/Tokyo").hour == 9
    assert iso(ns + 789, "Asia/Tokyo") == "2027-01-04T09:00:00.123456789+09:00"
    with pytest.raises(ValueError, match="naive"):
        from_datetime(datetime(2027, 1, 4))
