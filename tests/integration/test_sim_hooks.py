"""Scenario hooks: a simulator in a World can be paused, resumed, reconfigured, stopped, and made
to jump, run fast or halt, as BDD steps do."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from sim.markets import Simulator, SimulatorError, load_profile
from sim.world import World
from system.bootstrap import SystemConfig
from system.clock import from_datetime
from system.engine import Phase

DAY = date(2027, 1, 4)
IID = "XTKS:7203"
MIN = 60 * 10**9


def at(hh: int, mm: int) -> int:
    return from_datetime(datetime.combine(DAY, time(hh, mm), tzinfo=ZoneInfo("Asia/Tokyo")))


@pytest.fixture()
def setup() -> Iterator[tuple[World, Simulator]]:
    xtks = load_profile("XTKS")
    config = SystemConfig(seed=5, instruments=xtks.instruments, venues=("XTKS",), default_phase=Phase.CLOSED)
    world = World(config, start_ns=at(9, 30))
    sim = Simulator(world, xtks, instruments=["7203"]).start()
    yield world, sim
    world.close()


def agent_commands(sim: Simulator) -> int:
    return sum(a.sent for a in sim.agents)


def mm_quotes(world: World) -> tuple[int, int]:
    """The makers' best bid and best ask."""
    orders = [o for o in world.engine.open_orders(instrument=IID) if o.account.startswith("SIM-MM")]
    return (
        max(o.price for o in orders if o.side == "BUY"),
        min(o.price for o in orders if o.side == "SELL"),
    )


def test_load_profile_instruments_set_up_a_world(setup: tuple[World, Simulator]) -> None:
    """A World built from load_profile(...).instruments trades once the simulator starts."""
    world, sim = setup
    world.run_until(at(9, 35))
    assert agent_commands(sim) > 50
    assert sim.stats.day(IID).trades > 0
    assert sim.accounts() == [
        "SIM-INF",
        "SIM-MM1",
        "SIM-MM2",
        "SIM-MM3",
        "SIM-MOM",
        "SIM-NOISE",
        "SIM-NOISE-X",
    ]


def test_pause_and_resume(setup: tuple[World, Simulator]) -> None:
    """While paused no agent sends anything; after resume they trade again."""
    world, sim = setup
    world.run_until(at(9, 32))
    sim.pause()
    before = agent_commands(sim)
    world.run_until(at(9, 40))
    assert agent_commands(sim) == before
    sim.resume()
    world.run_until(at(9, 42))
    assert agent_commands(sim) > before


def test_market_makers_widen_spreads_to_5_ticks(setup: tuple[World, Simulator]) -> None:
    """After widen_spreads(5) the makers' own quotes are at least 9 ticks apart."""
    world, sim = setup
    world.run_until(at(9, 35))
    bid, ask = mm_quotes(world)
    tick = sim.grid(IID).tick(bid)
    assert ask - bid <= 6 * tick
    sim.widen_spreads(5)
    world.run_until(at(9, 37))
    bid, ask = mm_quotes(world)
    assert ask - bid >= 9 * tick


def test_fast_market_multiplies_volatility_then_ends(setup: tuple[World, Simulator]) -> None:
    """A fast market x5 for 10 minutes moves fair value about five times as much, then calms."""
    world, sim = setup

    def step_moves(minutes: int) -> float:
        xs = []
        for _ in range(minutes * 60):
            before = sim.fair.price(IID)
            world.advance(10**9)
            xs.append(sim.fair.price(IID) / before - 1)
        return statistics.pstdev(xs)

    calm = step_moves(5)
    sim.fast_market(5, minutes=10)
    fast = step_moves(5)
    assert 3.5 < fast / calm < 7
    world.run_until(at(9, 46))
    assert 0.6 < step_moves(5) / calm < 1.6


def test_news_jump_moves_fair_value_and_the_market_follows(setup: tuple[World, Simulator]) -> None:
    """News of -300 bp drops fair value at once; within minutes trades print near the new level."""
    world, sim = setup
    world.run_until(at(9, 35))
    before = sim.fair.price(IID)
    sim.news("7203", -300)
    after = sim.fair.price(IID)
    assert after == pytest.approx(before * 0.97)
    world.run_until(at(9, 40))
    last = world.engine.last_price(IID)
    assert last is not None and abs(last / sim.fair.price(IID) - 1) < 0.005


def test_halt_and_lift(setup: tuple[World, Simulator]) -> None:
    """A halt puts the instrument in HALTED with no trades; lifting it returns to the calendar phase."""
    world, sim = setup
    world.run_until(at(9, 35))
    sim.halt("7203", minutes=5)
    assert world.engine.phase(IID) is Phase.HALTED
    trades = sim.stats.day(IID).trades
    world.run_until(at(9, 39))
    world.runtime.flush()
    assert sim.stats.day(IID).trades == trades
    world.run_until(at(9, 41))
    assert world.engine.phase(IID) is Phase.CONTINUOUS
    world.run_until(at(9, 43))
    assert sim.stats.day(IID).trades > trades


def test_stop_can_clear_the_agents_orders(setup: tuple[World, Simulator]) -> None:
    """stop(cancel_orders=True) ends the agents and leaves none of their orders in the book."""
    world, sim = setup
    world.run_until(at(9, 35))
    sim.stop(cancel_orders=True)
    sent = agent_commands(sim)
    world.run_until(at(9, 40))
    assert agent_commands(sim) == sent
    assert [o for o in world.engine.open_orders(instrument=IID) if o.account.startswith("SIM-")] == []


def test_bad_hook_arguments_name_the_value(setup: tuple[World, Simulator]) -> None:
    """Hooks refuse unusable values with the value in the message."""
    _, sim = setup
    with pytest.raises(SimulatorError, match="0 ticks"):
        sim.widen_spreads(0)
    with pytest.raises(ValueError, match="noise_speed"):
        sim.reconfigure(noise_speed=2)
    with pytest.raises(ValueError, match="'9999'"):
        sim.news("9999", 100)
