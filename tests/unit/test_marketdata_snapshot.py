"""MarketData restored from a snapshot (a warm start) answers as one that folded the whole log:
while it follows the engine its snapshot holds only the tape, and the restored engine beside it
gives the rest; a subscriber or a restore without that engine still gets the folded state."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from system.bootstrap import SystemConfig, TradingSystem
from system.clock import FixedClock
from system.engine import CancelOrder, Side, SubmitOrder
from system.engine.marketdata import MarketData, Update
from system.engine.testkit import instrument
from system.eventlog import EventStore, open_log

X = "XTKS:7203"

orders = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.booleans(), st.integers(995, 1005), st.integers(1, 5)),
        st.tuples(st.just("cancel"), st.integers(1, 40)),
        st.just(("snapshot",)),
    ),
    min_size=1,
    max_size=50,
)


def _system(store: EventStore, clock: FixedClock, *, warm: bool = False) -> TradingSystem:
    return TradingSystem(SystemConfig(instruments=(instrument(X),)), store, clock, warm_start=warm)


def _picture(md: MarketData) -> tuple[Any, ...]:
    return (md.position, md.bbo(X), md.depth(X), md.book(X), md.trades(X), md.instruments())


def _folded(store: EventStore) -> MarketData:
    md = MarketData()
    md.rebuild(store)
    return md


def _run(steps: list[tuple[Any, ...]]) -> tuple[EventStore, FixedClock]:
    clock = FixedClock(1_000)
    store = open_log("memory://", clock)
    ts = _system(store, clock)
    ts.start()
    for i, step in enumerate(steps):
        if step[0] == "snapshot":
            ts.runtime.snapshot()
        elif step[0] == "add":
            _, buy, price, lots = step
            ts.execute(SubmitOrder("A", f"c{i}", X, Side.BUY if buy else Side.SELL, lots * 100, price=price))
        else:
            ts.execute(CancelOrder("A", X, step[1]))
    return store, clock


@settings(max_examples=40, deadline=None)
@given(steps=orders)
def test_a_warm_started_market_data_answers_as_a_full_fold(steps: list[tuple[Any, ...]]) -> None:
    """Restored from the latest snapshot plus the tail, it follows the engine again and answers
    what a MarketData that folded the whole log answers; a subscriber attached then sees a state
    of its own built from the log."""
    store, clock = _run(steps)
    ts = _system(store, clock, warm=True)
    md = ts.projection(MarketData)
    assert md._runtime is ts.runtime  # following again
    want = _picture(_folded(store))
    assert _picture(md) == want
    got: list[Update] = []
    md.subscribe(got.append)  # needs its own state: rebuilt from the log
    assert _picture(md) == want


def test_a_shared_snapshot_restored_without_its_engine_says_so() -> None:
    """A snapshot taken while following restored into a lone MarketData cannot answer alone."""
    store, clock = _run([("add", True, 1000, 1), ("snapshot",)])
    snap = _system(store, clock).projection(MarketData).snapshot_state()
    assert snap["engine"] is None  # the engine's own snapshot holds that state
    md = MarketData()
    md.restore_state(snap)
    with pytest.raises(RuntimeError, match="follow"):
        md.bbo(X)
