"""As-of replay on a simulated TSE day: equal to the live state, bitemporal views of a bust,
snapshots that never change an answer."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.replay import ReplayError, as_of, ensure_index
from sim.replay.asof import live_digests
from sim.replay.synthetic import Flow, continuous_windows, day_config, tokyo
from sim.replay.views import state_dict
from sim.world import World
from system.corrections import BustTrade, TradeBusted
from system.engine import TradeExecuted

DAY = date(2027, 1, 6)
START, CLOSE, END = tokyo(DAY, 7), tokyo(DAY, 15, 30), tokyo(DAY, 16)


@pytest.fixture(scope="module")
def day() -> dict[str, Any]:
    """A simulated day with the live state captured at 50 random instants, then a bust at 15:45."""
    cfg = day_config(seed=5)
    world = World(cfg, start_ns=START, until_ns=END)
    flow = Flow(5, cfg.instruments, continuous_windows(DAY), mean_gap_ns=3_000_000_000)
    rng = random.Random(50)
    caps = sorted(rng.randint(START + 1, CLOSE) for _ in range(50))
    live: dict[int, dict[str, str]] = {}
    pending = list(caps)
    for t, cmd in flow.commands():
        while pending and pending[0] < t:
            ti = pending.pop(0)
            world.run_until(ti)
            live[ti] = live_digests(world.runtime.components)
        world.run_until(t)
        world.execute(cmd)
    for ti in pending:
        world.run_until(ti)
        live[ti] = live_digests(world.runtime.components)
    world.run_until(tokyo(DAY, 15, 45))
    trade = next(
        e for e in world.store.read(1) if isinstance(e.record, TradeExecuted) and e.record.qty >= 200
    )
    assert isinstance(trade.record, TradeExecuted)
    world.execute(BustTrade(trade_id=trade.record.trade_id, reason="erroneous"))
    world.run_until(END)
    bust = next(e for e in world.store.read(1) if isinstance(e.record, TradeBusted))
    ensure_index(world.store, every=1_000)
    return {"world": world, "live": live, "trade": trade, "bust": bust}


def test_replayed_state_equals_live_state_at_50_random_instants(day: dict[str, Any]) -> None:
    """At 50 random instants the replayed state of every component equals the live one."""
    store = day["world"].store
    bust_time = day["bust"].recorded_time
    for t, live in day["live"].items():
        # As known then: the later bust (which amends an earlier valid time) had not happened yet.
        replayed = as_of(store, t, known_at=bust_time - 1).digests()
        assert {k: replayed[k] for k in live} == live, t


def test_busted_trade_known_at_and_corrected_views_differ_exactly_by_the_trade(day: dict[str, Any]) -> None:
    """Before the bust was recorded the trade counts; in the corrected view it does not, and
    nothing else differs."""
    store, trade, bust = day["world"].store, day["trade"].record, day["bust"]
    before = as_of(store, CLOSE, known_at=bust.recorded_time - 1)
    after = as_of(store, CLOSE)
    assert before.basis.late_excluded == 1 and after.basis.late_included == 1
    pb, pa = before.ledger.positions, after.ledger.positions
    q, p = trade.qty, trade.price
    expect = {k: list(v) for k, v in pb.items()}
    expect[(trade.buy_account, trade.instrument)][0] -= q
    expect[(trade.buy_account, trade.instrument)][1] -= q * p
    expect[(trade.sell_account, trade.instrument)][0] += q
    expect[(trade.sell_account, trade.instrument)][1] += q * p
    assert pa == expect
    assert (before.ledger.trades, after.ledger.busted) == (after.ledger.trades, 1)
    # The books do not move on a bust: the engine's state is the same in both views.
    db, da = before.digests(), after.digests()
    engine = [k for k in db if k.endswith(":engine")]
    assert engine and [db[k] for k in engine] == [da[k] for k in engine]
    sb, sa = state_dict(before), state_dict(after)
    assert sb["books"] == sa["books"] and sb["open_orders"] == sa["open_orders"]


def test_as_of_names_its_basis(day: dict[str, Any]) -> None:
    """The answer says which seq it folded to and from which snapshot, and the log head."""
    store = day["world"].store
    a = as_of(store, tokyo(DAY, 13))
    head = store.head()
    assert a.basis.head_seq == head.seq and a.basis.head_hash == head.hash.hex()
    assert 0 < a.basis.snapshot_seq <= a.basis.seq
    last = max(e.seq for e in store.read(1) if e.valid_time <= tokyo(DAY, 13))
    assert a.basis.seq == last


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(START, CLOSE), st.one_of(st.none(), st.integers(START, END)))
def test_snapshots_never_change_an_answer(day: dict[str, Any], t: int, r: int | None) -> None:
    """From the nearest usable snapshot or from the start, as-of gives the same state."""
    store = day["world"].store
    fast = as_of(store, t, known_at=r)
    slow = as_of(store, t, known_at=r, use_snapshots=False)
    assert fast.digests() == slow.digests()
    assert fast.basis.seq == slow.basis.seq


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(START, CLOSE), st.one_of(st.none(), st.integers(START, END)))
def test_rebuilding_only_some_components_gives_those_of_the_full_answer(
    day: dict[str, Any], t: int, r: int | None
) -> None:
    """A books-only (engine) or positions-only (ledger) answer equals that part of the full one."""
    store = day["world"].store
    full = as_of(store, t, known_at=r).digests()
    for only in ({"engine"}, {"ledger", "corrections"}):
        part = as_of(store, t, known_at=r, only=only)
        assert part.digests() == {k: v for k, v in full.items() if k.split(":")[1] in only}


def test_only_names_a_component_of_the_build(day: dict[str, Any]) -> None:
    """Asking for a component the build lacks is an error naming it."""
    with pytest.raises(ReplayError, match="'books'"):
        as_of(day["world"].store, tokyo(DAY, 13), only={"books"})


def test_a_time_outside_the_log_is_refused(day: dict[str, Any]) -> None:
    """A time before the first or after the last entry is an error naming the log's span."""
    store = day["world"].store
    with pytest.raises(ReplayError, match="outside the log"):
        as_of(store, START - 1)
    with pytest.raises(ReplayError, match="outside the log"):
        as_of(store, tokyo(DAY, 23))
