"""The export API: a log as pandas DataFrames, and parquet files that read back the same."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from sim.replay.export import export, frames
from sim.replay.synthetic import Flow, continuous_windows, day_config, run_day, tokyo
from sim.world import World
from system.corrections import BustTrade, CorrectTrade
from system.engine import OrderAccepted, TradeExecuted
from system.eventlog import EventStore

DAY = date(2027, 1, 6)


@pytest.fixture(scope="module")
def store() -> EventStore:
    """A short simulated day with trade 2 busted and trade 4 corrected to 100 more than it was."""
    cfg = day_config(seed=2)
    world = World(cfg, start_ns=tokyo(DAY, 7), until_ns=tokyo(DAY, 16))
    run_day(
        world,
        Flow(2, cfg.instruments, continuous_windows(DAY), mean_gap_ns=10_000_000_000),
        end_ns=tokyo(DAY, 15, 50),
    )
    world.execute(BustTrade(trade_id=2))
    t4 = next(
        e.record
        for e in world.store.read(1)
        if isinstance(e.record, TradeExecuted) and e.record.trade_id == 4
    )
    world.execute(CorrectTrade(trade_id=4, qty=t4.qty + 100))
    return world.store


def test_frames_match_the_log(store: EventStore) -> None:
    """Events, orders and trades have one row per entry, accepted order and trade of the log."""
    f = frames(store)
    evs = list(store.read(1))
    assert len(f["events"]) == len(evs) and list(f["events"]["seq"]) == [e.seq for e in evs]
    accepted = sum(isinstance(e.record, OrderAccepted) for e in evs)
    assert (f["orders"]["status"] != "rejected").sum() == accepted
    trades = f["trades"]
    assert len(trades) == sum(isinstance(e.record, TradeExecuted) for e in evs)
    assert trades.set_index("trade_id").loc[2, "status"] == "busted"
    t4 = trades.set_index("trade_id").loc[4]
    assert t4["status"] == "corrected" and t4["qty"] == t4["original_qty"] + 100
    assert str(trades["time"].dtype).startswith("datetime64") and trades["time"].dt.tz is not None


def test_bars_are_ohlc_of_the_corrected_trades(store: EventStore) -> None:
    """Bars leave busted trades out, use corrected quantities, and keep low <= open, close <= high."""
    f = frames(store, interval="30min")
    bars, trades = f["bars"], f["trades"]
    live = trades[trades["status"] != "busted"]
    assert bars["volume"].sum() == live["qty"].sum() and bars["trades"].sum() == len(live)
    assert (
        (bars["low"] <= bars[["open", "close"]].min(axis=1))
        & (bars[["open", "close"]].max(axis=1) <= bars["high"])
    ).all()


def test_parquet_round_trip(store: EventStore, tmp_path: Path) -> None:
    """Parquet files read back equal to the frames."""
    paths = export(store, tmp_path, ["orders", "trades"], "parquet")
    f = frames(store, ["orders", "trades"])
    for p in paths:
        back = pd.read_parquet(p)
        pd.testing.assert_frame_equal(back, f[p.stem], check_dtype=False)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_export_stopped_mid_file_leaves_no_file(
    store: EventStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """Ctrl-C while a file is being written: the files already done stay, the one being written
    does not appear (a CSV cut at a row boundary would look complete), nor does its partial."""
    real_csv, real_parquet = pd.DataFrame.to_csv, pd.DataFrame.to_parquet

    def cut(self: pd.DataFrame, target: object, *a: object, **k: object) -> None:
        if len(self) and "trade_id" in self.columns:  # the trades file: half of it, then Ctrl-C
            half = self.iloc[: len(self) // 2]
            (real_csv if fmt == "csv" else real_parquet)(half, target, *a, **k)  # type: ignore[operator]
            raise KeyboardInterrupt
        (real_csv if fmt == "csv" else real_parquet)(self, target, *a, **k)  # type: ignore[operator]

    monkeypatch.setattr(pd.DataFrame, "to_csv" if fmt == "csv" else "to_parquet", cut)
    with pytest.raises(KeyboardInterrupt):
        export(store, tmp_path, ["events", "trades", "orders"], fmt)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"events.{fmt}"]
