"""A pytest fixture for time travel. Use it from a test module or conftest:

    from sim.clock.pytest_plugin import time_travel  # noqa: F401  (registers the fixture)

    def test_year_end(time_travel):
        clock = time_travel("2031-12-31T09:00:00+09:00")
        assert date.today() == date(2031, 12, 31)     # any code sees the virtual date
        clock.advance(3600 * NS_PER_SECOND)           # and it moves with the clock
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime

import pytest

from sim.clock.timetravel import Backend, travel
from sim.clock.virtual import VirtualClock
from system.clock import from_datetime


class TimeTravel:
    """Starts virtual clocks with the wall-clock readers patched; undone at test teardown."""

    def __init__(self) -> None:
        self._stack = ExitStack()

    def __call__(
        self, when: int | datetime | str, *, backend: Backend = "time-machine"
    ) -> VirtualClock:
        if isinstance(when, str):
            when = datetime.fromisoformat(when)
        start = when if isinstance(when, int) else from_datetime(when)
        clock = VirtualClock(start)
        self._stack.enter_context(travel(clock, backend=backend))
        return clock

    def close(self) -> None:
        self._stack.close()


@pytest.fixture
def time_travel() -> Iterator[TimeTravel]:
    """Call with an instant to get a VirtualClock that the whole process's wall clock follows."""
    tt = TimeTravel()
    try:
        yield tt
    finally:
        tt.close()
