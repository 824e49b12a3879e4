"""A World with pricing configured: bars align to the XTKS sessions and zone, the reference price
rolls to the previous close at each session's start (right after its phase change), and composite
marks are recomputed when a source goes stale; all as logged commands."""

from __future__ import annotations

from datetime import date, timedelta

from sim.clock.registry import venue_calendar
from sim.replay.synthetic import day_config, tokyo
from sim.world import World
from system.engine import PhaseChanged, ReferencePriceSet, Side, SubmitOrder
from system.eventlog.codec import LoggedEvent
from system.pricing import SESSIONS, BarProjection, MarkPriceSet, SetSourcePrice, parse_pricing

DAY = date(2027, 1, 6)
NEXT = DAY + timedelta(days=1)
TOY = "XTKS:7203"


def world(pricing: dict[str, object] | None = None) -> World:
    table = pricing or {"bars": ["1m", "1h", "1d"]}
    cfg = day_config(seed=3, symbols=("7203",), pricing=parse_pricing(table))
    return World(cfg, start_ns=tokyo(DAY, 7), until_ns=tokyo(NEXT, 16))


def trade(w: World, at: int, price: int, n: int) -> None:
    w.run_until(at)
    w.execute(SubmitOrder("S", f"s{n}", TOY, Side.SELL, 100, price=price))
    w.execute(SubmitOrder("B", f"b{n}", TOY, Side.BUY, 100, price=price))


def session_start(d: date) -> int:
    (s,) = venue_calendar("XTKS").sessions(d, d)
    return s.transitions[0].at


def test_bars_align_to_the_xtks_session_and_zone() -> None:
    """Minute and hour bars start on the Tokyo clock; the day bar is the XTKS trade date and
    starts at Tokyo midnight (no [pricing.venues] zone is configured: the calendar gives it)."""
    w = world()
    trade(w, tokyo(DAY, 10, 15, 30), 2510, 1)
    trade(w, tokyo(DAY, 13, 5), 2520, 2)
    bars = w.system.projection(BarProjection)
    (day_bar,) = bars.bars(TOY, "1d")
    assert day_bar.trade_date == "2027-01-06" and day_bar.start == tokyo(DAY, 0)
    assert (day_bar.open, day_bar.close, day_bar.volume) == (2510, 2520, 200)
    assert [b.start for b in bars.bars(TOY, "1h")] == [tokyo(DAY, 10), tokyo(DAY, 13)]
    assert [b.start for b in bars.bars(TOY, "1m")] == [tokyo(DAY, 10, 15), tokyo(DAY, 13, 5)]
    assert "XTKS" not in SESSIONS  # the calendar was handed to this world's bars only


def test_reference_price_rolls_to_the_previous_close_at_each_session_start() -> None:
    """At the next session's first transition, after its phase change, the reference becomes the
    last trade of the day before; the roll is a logged command."""
    w = world()
    trade(w, tokyo(DAY, 14), 2530, 1)
    w.run_until(tokyo(NEXT, 9, 30))
    log: list[LoggedEvent] = list(w.store.read(1))
    rolls = [e for e in log if e.type == "RollReferencePrices"]
    assert [e.valid_time for e in rolls] == [session_start(DAY), session_start(NEXT)]
    (ref,) = [e for e in log if isinstance(e.record, ReferencePriceSet) and e.valid_time > tokyo(DAY, 15)]
    assert isinstance(ref.record, ReferencePriceSet)
    assert ref.record.price == 2530 and ref.valid_time == session_start(NEXT)
    phase = next(
        e for e in log if isinstance(e.record, PhaseChanged) and e.valid_time == session_start(NEXT)
    )
    assert phase.seq < rolls[1].seq < ref.seq
    assert w.engine.books[TOY].reference == 2530


def test_composite_marks_are_recomputed_when_a_source_goes_stale() -> None:
    """A RecomputeMarks runs at the instant a source turns stale, and the mark follows."""
    w = world(
        {
            "marks": {
                TOY: {
                    "method": "composite",
                    "stale_after": "5s",
                    "sources": [{"name": "a"}, {"name": "b"}],
                }
            }
        }
    )
    t = tokyo(DAY, 10)
    w.run_until(t)
    w.execute(SetSourcePrice(TOY, "a", 2500))
    w.run_until(t + 2 * 10**9)
    w.execute(SetSourcePrice(TOY, "b", 2600))
    w.run_until(t + 60 * 10**9)
    log = list(w.store.read(1))
    recomputes = [e.valid_time for e in log if e.type == "RecomputeMarks"]
    assert recomputes == [t + 5 * 10**9 + 1, t + 7 * 10**9 + 1]
    marks = [(e.valid_time, e.record.price) for e in log if isinstance(e.record, MarkPriceSet)]
    # a alone, then the mean of a and b, then b alone once a is stale; b going stale leaves no mark
    assert marks == [(t, 2500), (t + 2 * 10**9, 2550), (t + 5 * 10**9 + 1, 2600)]
