"""As-of replay of a day run with risk and pricing configured takes the snapshot fast path:
every component (risk, pricing, corrections included) is cached, and answers equal a full fold."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.replay import as_of, ensure_index
from sim.replay.cache import cache_for
from sim.replay.synthetic import Flow, continuous_windows, day_config, run_day, tokyo
from sim.world import World
from system.corrections import BustTrade
from system.pricing import load_pricing
from system.risk import load_risk

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "risk.example.toml"
DAY = date(2027, 1, 6)
START, CLOSE, END = tokyo(DAY, 7), tokyo(DAY, 15, 30), tokyo(DAY, 16)


@pytest.fixture(scope="module")
def world() -> World:
    """A TSE day under config/risk.example.toml (margin warnings and calls happen), one bust."""
    cfg = day_config(seed=9, risk=load_risk(EXAMPLE), pricing=load_pricing(EXAMPLE))
    world = World(cfg, start_ns=START, until_ns=END)
    flow = Flow(9, cfg.instruments, continuous_windows(DAY), mean_gap_ns=4_000_000_000)
    run_day(world, flow, end_ns=tokyo(DAY, 15, 45))
    world.execute(BustTrade(trade_id=3, reason="test"))
    world.run_until(END)
    ensure_index(world.store, every=500)
    return world


def test_a_risk_configured_day_is_indexed_with_snapshots_of_every_component(world: World) -> None:
    """The replay index holds snapshots (the fast path), and risk and pricing are in them."""
    store = world.store
    idx = ensure_index(store)
    assert len(idx.points) >= 5
    names = [n.split(":", 1)[1] for n in idx.components]
    assert {"risk", "engine", "corrections", "pricing"} <= set(names)
    kinds = {e.type for e in store.read(1)}
    assert {"MarkPriceSet", "TradeExecuted", "TradeBusted", "MarginWarning", "MarginCall"} <= kinds
    for name in idx.components:
        assert cache_for(store).load_snapshot(f"replay/{name}", idx.points[-1].seq) is not None
    assert not store.list_snapshots(f"replay/{idx.components[0]}")  # the log is only read


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.integers(START, CLOSE), st.one_of(st.none(), st.integers(START, END)))
def test_as_of_from_a_snapshot_equals_a_full_fold_with_risk_on(world: World, t: int, r: int | None) -> None:
    """From the nearest snapshot or from the start, as-of gives the same risk and pricing state."""
    fast = as_of(world.store, t, known_at=r)
    slow = as_of(world.store, t, known_at=r, use_snapshots=False)
    assert fast.digests() == slow.digests()
    assert fast.basis.seq == slow.basis.seq


def test_as_of_late_in_the_day_starts_from_a_snapshot(world: World) -> None:
    """An as-of late in the day restores a snapshot and folds only a short tail."""
    a = as_of(world.store, tokyo(DAY, 15))
    assert a.basis.snapshot_seq > 0 and a.basis.folded < 2 * 500
