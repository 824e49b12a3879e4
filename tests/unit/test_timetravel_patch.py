"""While a scenario runs on a virtual clock, the wall-clock readers of any code follow it."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime

import pandas as pd
import pytest

from sim.clock import VirtualClock
from sim.clock.pytest_plugin import TimeTravel, time_travel  # noqa: F401  (registers the fixture)
from sim.clock.timetravel import run_virtual, travel
from system.clock import NS_PER_SECOND, from_datetime

NEW_YEAR_EVE = datetime(2031, 12, 31, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize("backend", ["time-machine", "freezegun"])
def test_wall_clock_follows_the_virtual_clock(backend: str) -> None:
    """datetime.now, date.today and time.time read the virtual time, and move with it."""
    clock = VirtualClock(from_datetime(NEW_YEAR_EVE))
    with travel(clock, backend=backend):  # type: ignore[arg-type]
        assert datetime.now(UTC) == NEW_YEAR_EVE
        assert date.today() == date(2031, 12, 31)
        assert time.time() == NEW_YEAR_EVE.timestamp()
        clock.advance(3600 * NS_PER_SECOND)
        assert datetime.now(UTC) == datetime(2032, 1, 1, 0, 0, tzinfo=UTC)
        assert date.today() == date(2032, 1, 1)
    assert datetime.now(UTC).year < 2031  # restored on exit


def test_pandas_follows_with_time_machine() -> None:
    """pandas' Timestamp.now follows the virtual clock under the default backend."""
    clock = VirtualClock(from_datetime(NEW_YEAR_EVE))
    with travel(clock):
        assert pd.Timestamp.now(tz="UTC") == pd.Timestamp(NEW_YEAR_EVE)
        clock.advance(60 * NS_PER_SECOND)
        assert pd.Timestamp.now(tz="UTC").minute == 1


def test_clock_can_travel_back_before_a_run() -> None:
    """Setting the clock back to last month (nothing scheduled) is seen by the patched readers."""
    clock = VirtualClock(from_datetime(NEW_YEAR_EVE))
    with travel(clock):
        clock.set(from_datetime(datetime(2031, 11, 30, tzinfo=UTC)))
        assert date.today() == date(2031, 11, 30)


def test_asyncio_sleep_does_not_wait_on_wall_time() -> None:
    """An hour of asyncio.sleep passes instantly on the virtual loop and moves the clock."""
    clock = VirtualClock(from_datetime(NEW_YEAR_EVE))
    seen: list[str] = []
    clock.call_at(clock.now_ns() + 1800 * NS_PER_SECOND, lambda: seen.append("timer"))

    async def scenario() -> datetime:
        await asyncio.sleep(3600)
        seen.append("woke")
        return datetime.now(UTC)

    with travel(clock):
        woke = run_virtual(scenario(), clock)
    assert woke == datetime(2032, 1, 1, 0, 0, tzinfo=UTC)
    assert seen == ["timer", "woke"]  # the clock's own timers fire on the way


def test_fixture_starts_a_patched_clock(time_travel: TimeTravel) -> None:  # noqa: F811
    """The time_travel fixture gives a virtual clock that the whole process follows."""
    clock = time_travel("2031-12-31T09:00:00+09:00")
    assert date.today() == date(2031, 12, 31)
    clock.advance(24 * 3600 * NS_PER_SECOND)
    assert date.today() == date(2032, 1, 1)
