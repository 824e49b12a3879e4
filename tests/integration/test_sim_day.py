"""Stylised facts of a simulated TSE day (one instrument, reduced intensity): the auctions
execute, the book is never crossed, spreads stay within a few ticks, volume is U-shaped, and the
agents rest over lunch."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from sim.markets import SimulatedDay, simulated_day
from sim.markets.stats import BookSampler
from system.clock import from_datetime
from system.engine import Phase
from system.eventlog import Command

TOKYO = ZoneInfo("Asia/Tokyo")
DAY = date(2027, 1, 4)
IID = "XTKS:7203"


def at(hh: int, mm: int) -> int:
    return from_datetime(datetime.combine(DAY, time(hh, mm), tzinfo=TOKYO))


@dataclass
class Observed:
    day: SimulatedDay
    sampler: BookSampler
    crossed_after: list[tuple[int, str]]
    agent_commands: list[tuple[int, str]]


@pytest.fixture(scope="module")
def observed() -> Iterator[Observed]:
    day = simulated_day("XTKS", DAY, instruments=["7203"], seed=11, activity=0.5, flow={"mm_refresh_s": 8.0})
    sim = day.simulator
    crossed: list[tuple[int, str]] = []
    sent: list[tuple[int, str]] = []
    inner = sim.execute

    def checked(cmd: Command) -> object:
        out = inner(cmd)
        now = day.world.now()
        sent.append((now, type(cmd).__name__))
        if sim.view.phase(IID) is Phase.CONTINUOUS and sim.view.crossed(IID):
            crossed.append((now, type(cmd).__name__))
        return out

    sim.execute = checked  # type: ignore[method-assign,assignment]
    sampler = sim.sample_books(every_s=1.0)
    day.run()
    yield Observed(day, sampler, crossed, sent)
    day.close()


def test_the_opening_auctions_execute(observed: Observed) -> None:
    """The 09:00 and 12:30 opening auctions and the 15:30 closing auction all trade."""
    auctions = observed.day.simulator.stats.day(IID).auctions
    traded = [(ph, qty) for ph, _, qty, _ in auctions if qty > 0]
    assert [ph for ph, _ in traded].count("OPENING_AUCTION") == 2
    assert ("CLOSING_AUCTION", auctions[-1][2]) == traded[-1]


def test_the_book_is_never_crossed(observed: Observed) -> None:
    """After every agent command in continuous trading the best bid is below the best ask."""
    assert len(observed.agent_commands) > 1000
    assert observed.crossed_after == []
    assert not any(s.crossed for s in observed.sampler.samples)


def test_spread_is_mostly_within_a_few_ticks(observed: Observed) -> None:
    """At least 90% of once-a-second samples show a spread of at most 3 ticks."""
    spreads = [s.spread_ticks for s in observed.sampler.samples]
    two_sided = [s for s in spreads if s is not None]
    assert len(two_sided) > 0.99 * len(spreads)
    assert sum(1 for s in two_sided if s <= 3) >= 0.9 * len(two_sided)


def test_volume_is_higher_near_open_and_close_than_midday(observed: Observed) -> None:
    """Continuous volume in the first and last half hours beats each half hour around midday."""
    by_minute = observed.day.simulator.stats.day(IID).volume_by_minute

    def volume(a: int, b: int) -> int:
        return sum(v for m, v in by_minute.items() if a <= m * 60_000_000_000 < b)

    first = volume(at(9, 0) + 1, at(9, 30))  # continuous only: the 09:00 uncross is excluded
    last = volume(at(14, 55), at(15, 25))
    midday = [volume(at(10, 30), at(11, 0)), volume(at(13, 0), at(13, 30))]
    assert first > max(midday) and last > max(midday)


def test_agents_rest_over_lunch_and_after_the_close(observed: Observed) -> None:
    """No agent sends anything in the lunch break (11:30-12:05) or once the market is closed."""
    cmds = observed.agent_commands
    assert not [c for c in cmds if at(11, 30) < c[0] < at(12, 5)]
    assert not [c for c in cmds if c[0] > at(15, 30)]
    assert [c for c in cmds if at(8, 0) <= c[0] < at(9, 0)], "makers and noise quote in pre-open"


def test_day_orders_expire_at_the_close(observed: Observed) -> None:
    """What rests at 15:30 expires: the engine holds no open orders after the close."""
    assert observed.day.world.engine.open_orders(instrument=IID) == []
