"""As-of from the replay cache equals a full fold at EVERY instant of a simulated morning, for
snapshot intervals that put a snapshot between the events of one command (every=1 puts one at
every entry), in the as-known-then and corrected views of a bust, and on a re-run and a rebase.

The morning: the XTKS simulator (makers, takers, replaces, the opening auction) on two
instruments at 0.3 activity, 08:50-09:05 on 2027-01-04, with risk and pricing from
config/risk.example.toml; about 4,800 entries at 825 distinct valid times, every one checked.
Small enough to run in CI in seconds, long enough to cross the opening auction and hold a few
hundred open orders, crossing orders, replaces and margin events.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sim.markets import simulated_day
from sim.replay import as_of, clear_cache, ensure_index, rebase, rerun
from sim.replay import state as cstate
from sim.replay.asof import components
from sim.replay.config import recorded_config
from system.clock import FixedClock, from_datetime
from system.corrections import BustTrade, TradeBusted
from system.engine import TradeExecuted
from system.eventlog import EventStore, LoggedEvent, open_log
from system.pricing import load_pricing
from system.risk import load_risk

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "risk.example.toml"
DAY = date(2027, 1, 4)
TOKYO = ZoneInfo("Asia/Tokyo")
INTERVALS = (1, 7, 100)


def at(hh: int, mm: int) -> int:
    return from_datetime(datetime.combine(DAY, time(hh, mm), tzinfo=TOKYO))


@pytest.fixture(scope="module")
def morning() -> Iterator[EventStore]:
    """The seeded morning, then a bust (recorded after it) of its first trade of 300 or more."""
    day = simulated_day(
        "XTKS", DAY, instruments=["7203", "6758"], seed=7, activity=0.3,
        start_ns=at(8, 50), until_ns=at(9, 5),
        risk=load_risk(EXAMPLE), pricing=load_pricing(EXAMPLE),
    )  # fmt: skip
    day.run()
    world = day.world
    trade = next(
        e.record for e in world.store.read(1) if isinstance(e.record, TradeExecuted) and e.record.qty >= 300
    )
    world.clock.set(world.now() + 1_000_000_000)
    world.execute(BustTrade(trade_id=trade.trade_id, reason="erroneous"))
    world.runtime.flush()
    yield world.store
    day.close()


def _fold(comps: list[Any], ev: LoggedEvent) -> None:
    if ev.record.kind == "command":
        return
    for c in comps:
        for fn in c.appliers().get(type(ev.record), ()):
            fn(ev.record)


def _digests(comps: list[Any]) -> dict[str, str]:
    return {f"{i}:{c.name}": cstate.digest(c) for i, c in enumerate(comps)}


def full_folds(store: EventStore, known_at: int | None) -> dict[int, dict[str, str]]:
    """For every distinct valid time T of the log: the digests of the literal definition, the
    fold in seq order of every entry with valid time <= T and recorded time <= known_at.

    Computed without the replayer: the longest prefix of the log whose entries all pass only
    grows with T, so it is folded once; the passing entries after it (the corrections) are
    folded onto a copy."""
    entries = list(store.read(1))
    rmax = known_at if known_at is not None else 1 << 62
    comps = components(recorded_config(store))
    out: dict[int, dict[str, str]] = {}
    p = 0
    for t in sorted({e.valid_time for e in entries}):
        while p < len(entries) and entries[p].valid_time <= t and entries[p].recorded_time <= rmax:
            _fold(comps, entries[p])
            p += 1
        rest = [e for e in entries[p:] if e.valid_time <= t and e.recorded_time <= rmax]
        if rest:
            tail = copy.deepcopy(comps)
            for e in rest:
                _fold(tail, e)
            out[t] = _digests(tail)
        else:
            out[t] = _digests(comps)
    return out


def assert_every_instant(
    store: EventStore, expect: dict[int, dict[str, str]], known_at: int | None, every: int
) -> None:
    idx = ensure_index(store, every=every)
    assert len(idx.points) >= (idx.head_seq // every) > 0
    clear_cache()
    bad = [t for t, want in expect.items() if as_of(store, t, known_at, index=idx).digests() != want]
    assert not bad, f"every={every}: {len(bad)} of {len(expect)} instants differ, first at {bad[0]}"


def _bust(store: EventStore) -> LoggedEvent:
    return next(e for e in store.read(1) if isinstance(e.record, TradeBusted))


@pytest.fixture(scope="module")
def before_bust(morning: EventStore) -> tuple[int, dict[int, dict[str, str]]]:
    r = _bust(morning).recorded_time - 1
    return r, full_folds(morning, r)


@pytest.fixture(scope="module")
def corrected(morning: EventStore) -> dict[int, dict[str, str]]:
    return full_folds(morning, None)


@pytest.mark.parametrize("every", INTERVALS)
def test_every_instant_as_known_before_the_bust_equals_a_full_fold(
    morning: EventStore, before_bust: tuple[int, dict[int, dict[str, str]]], every: int
) -> None:
    """As known before the bust (the untouched morning), every instant equals a full fold."""
    r, expect = before_bust
    assert len(expect) > 800 and len(set(map(str, expect.values()))) > 400  # the state moves
    assert_every_instant(morning, expect, r, every)


@pytest.mark.parametrize("every", INTERVALS)
def test_every_instant_of_the_corrected_view_equals_a_full_fold(
    morning: EventStore, corrected: dict[int, dict[str, str]], every: int
) -> None:
    """With the bust counted from the busted trade's time on, every instant equals a full fold."""
    assert_every_instant(morning, corrected, None, every)


def test_the_bust_changes_the_answer_from_the_busted_trade_on(
    before_bust: tuple[int, dict[int, dict[str, str]]], corrected: dict[int, dict[str, str]]
) -> None:
    """The two views agree before the busted trade and differ (positions, marks) after it."""
    _, known = before_bust
    differ = [t for t in known if known[t] != corrected[t]]
    assert differ and all(known[t] == corrected[t] for t in known if t < differ[0])


def test_every_instant_of_a_rerun_equals_a_full_fold(
    morning: EventStore, corrected: dict[int, dict[str, str]]
) -> None:
    """A re-run reproduces the log, and its own cache answers every instant as the original's
    full fold does."""
    new = open_log("memory://", FixedClock(0))
    res = rerun(morning, new)
    assert res.same
    assert_every_instant(new, corrected, None, 7)


def test_every_instant_of_a_rebase_equals_a_full_fold(morning: EventStore) -> None:
    """The flow rebased onto another day: every instant of the new log equals a full fold."""
    new = open_log("memory://", FixedClock(0))
    rebase(morning, date(2027, 1, 5), new)
    assert any(isinstance(e.record, TradeExecuted) for e in new.read(1))
    assert_every_instant(new, full_folds(new, None), None, 7)
