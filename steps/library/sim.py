"""Steps that run market simulators in the background of a scenario (sim.markets): agents quote and
trade through the same command path as the scenario's own orders, on the scenario's clock."""

from __future__ import annotations

from typing import Any

from steps import values as V
from steps.context import Scenario
from steps.errors import StepInputError
from steps.registry import given, then, when
from system.engine import TradeExecuted


def _simulators(ctx: Scenario) -> list[Any]:
    ctx.system()  # simulators start with the system
    if not ctx.simulators:
        raise StepInputError(
            "no simulator runs in this scenario (add 'Given a simulated XTKS market in 7203')"
        )
    return ctx.simulators


@given(
    "a simulated {venue:Venue} market in {symbols:Text} with seed {seed:Int}",
    "Given a simulated XTKS market in 7203 with seed 7",
)
def simulated_market(ctx: Scenario, venue: str, symbols: str, seed: str) -> None:
    """List the venue profile's instruments (comma- or 'and'-separated symbols) and start its
    market makers, noise and momentum traders when the system starts."""
    from sim.markets import ProfileError, load_profile

    if ctx.started:
        raise StepInputError("simulators must be set up before the system starts (move this step up)")
    try:
        profile = load_profile(venue)
        refs = [f"{venue}:{s.strip()}" for s in symbols.replace(" and ", ",").split(",") if s.strip()]
        insts = [profile.instrument(r) for r in refs]
    except (ProfileError, KeyError, ValueError) as e:
        raise StepInputError(str(e)) from None
    n = V.integer(seed, "seed")
    for inst in insts:
        if inst.id in ctx.instruments and ctx.instruments[inst.id] != inst:
            raise StepInputError(f"{inst.id} is already set up with other terms than the {venue} profile's")
        ctx.add_instrument(inst)

    def start(c: Scenario) -> None:
        from sim.markets import Simulator

        world = c.system().world()
        c.simulators.append(Simulator(world, profile, seed=n, instruments=[i.id for i in insts]).start())

    ctx.after_start.append(start)


@when(
    "the market makers widen their spreads to {ticks:Int} ticks",
    "When the market makers widen their spreads to 5 ticks",
)
def widen(ctx: Scenario, ticks: str) -> None:
    """Every simulated market maker quotes that many ticks either side of its price."""
    for sim in _simulators(ctx):
        sim.widen_spreads(V.integer(ticks, "ticks"))


@when(
    "a fast market comes: volatility x{mult:Word} for {minutes:Int} minutes",
    "When a fast market comes: volatility x5 for 10 minutes",
)
def fast_market(ctx: Scenario, mult: str, minutes: str) -> None:
    """Fair values move that many times faster for a while, then calm down."""
    for sim in _simulators(ctx):
        sim.fast_market(float(V.decimal(mult, "multiplier")), minutes=float(V.integer(minutes, "minutes")))


@when("the simulators pause", "When the simulators pause")
def pause(ctx: Scenario) -> None:
    """Agents stop sending orders (theirs stay in the book)."""
    for sim in _simulators(ctx):
        sim.pause()


@then("{ref:Ref} has traded", "Then XTKS:7203 has traded")
def has_traded(ctx: Scenario, ref: str) -> None:
    """At least one trade in the instrument since the scenario began."""
    inst = ctx.inst(ref)
    n = sum(1 for e in ctx.events() if isinstance(e.record, TradeExecuted) and e.record.instrument == inst.id)
    assert n > 0, f"no trade in {inst.id} yet (at {V.local(ctx.now(), ctx.zone())})"
