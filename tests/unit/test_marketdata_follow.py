"""MarketData inside a TradingSystem reads the engine's state instead of folding a second copy;
its answers stay those of a MarketData that folds the log on its own."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from system.bootstrap import SystemConfig, TradingSystem
from system.clock import FixedClock
from system.engine import CancelOrder, Side, SubmitOrder
from system.engine.marketdata import MarketData, Update
from system.engine.testkit import instrument
from system.eventlog import open_log

X = "XTKS:7203"

orders = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.booleans(), st.integers(995, 1005), st.integers(1, 5)),
        st.tuples(st.just("cancel"), st.integers(1, 40)),
    ),
    min_size=1,
    max_size=60,
)


def system() -> TradingSystem:
    clock = FixedClock(1_000)
    ts = TradingSystem(SystemConfig(instruments=(instrument(X),)), open_log("memory://", clock), clock)
    ts.start()
    return ts


def command(step: tuple[Any, ...], i: int) -> Any:
    if step[0] == "add":
        _, buy, price, lots = step
        return SubmitOrder("A", f"c{i}", X, Side.BUY if buy else Side.SELL, lots * 100, price=price)
    return CancelOrder("A", X, step[1])


def picture(md: MarketData) -> tuple[Any, ...]:
    return (md.position, md.bbo(X), md.depth(X), md.book(X), md.trades(X), md.instruments())


def folded(ts: TradingSystem, to_seq: int | None = None) -> MarketData:
    md = MarketData()
    md.rebuild(ts.store, to_seq)
    return md


def test_the_system_s_market_data_follows_the_engine() -> None:
    """A TradingSystem's MarketData shares the matching engine's state (no second fold)."""
    ts = system()
    md = ts.projection(MarketData)
    assert md._runtime is ts.runtime
    assert md.state is ts.engine


@settings(max_examples=40, deadline=None)
@given(orders)
def test_following_answers_equal_an_own_fold(steps: list[tuple[Any, ...]]) -> None:
    """After any run of adds and cancels, every view equals a MarketData folded from the log."""
    ts = system()
    for i, s in enumerate(steps):
        ts.execute(command(s, i))
    assert picture(ts.projection(MarketData)) == picture(folded(ts))


@settings(max_examples=25, deadline=None)
@given(orders, st.integers(0, 60))
def test_a_query_inside_a_batch_never_runs_ahead_of_the_log(steps: list[tuple[Any, ...]], cut: int) -> None:
    """Queried while batched() holds unflushed commands, MarketData answers as of its position
    (what the log holds), and keeps answering correctly after the flush."""
    ts = system()
    md = ts.projection(MarketData)
    with ts.runtime.batched(1000):
        for i, s in enumerate(steps):
            ts.execute(command(s, i))
            if i == cut:
                assert picture(md) == picture(folded(ts, md.position))
    assert picture(md) == picture(folded(ts))


def test_a_subscriber_gets_updates_after_following() -> None:
    """Subscribing takes a state of its own, so the updates are those of a MarketData that
    always folded on its own."""
    ts = system()
    ts.execute(SubmitOrder("A", "c1", X, Side.BUY, 100, price=1000))
    md, ref = ts.projection(MarketData), folded(ts)
    got: list[Update] = []
    want: list[Update] = []
    md.subscribe(got.append)
    ref.subscribe(want.append)
    ts.execute(SubmitOrder("A", "c2", X, Side.SELL, 100, price=1000))
    ref.rebuild(ts.store)
    assert got == want and any(type(u).__name__ == "TradePrint" for u in got)
    assert md._runtime is None
    assert picture(md) == picture(folded(ts))
