"""The audit report: verdict, blotter, one chart per instrument, corrections with both views,
and a tampered log reported as such with nothing else trusted."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from reports.audit import render
from sim.replay.synthetic import Flow, continuous_windows, day_config, run_day, tokyo
from sim.world import World
from system.clock import FixedClock
from system.corrections import BustTrade
from system.eventlog import EventStore, open_log

DAY = date(2027, 1, 6)


@pytest.fixture(scope="module")
def store() -> EventStore:
    """A short simulated day with trade 1 busted at 15:45."""
    cfg = day_config(seed=6)
    world = World(cfg, start_ns=tokyo(DAY, 7), until_ns=tokyo(DAY, 16))
    flow = Flow(6, cfg.instruments, continuous_windows(DAY), mean_gap_ns=12_000_000_000)
    run_day(world, flow, end_ns=tokyo(DAY, 15, 45))
    world.execute(BustTrade(trade_id=1, reason="erroneous"))
    world.run_until(tokyo(DAY, 16))
    return world.store


def test_report_has_every_section(store: EventStore) -> None:
    """A clean log reports VERIFIED, a blotter, one SVG chart per instrument and the bust's two views."""
    html = render(store, title="day")
    assert "VERIFIED" in html and "Trade blotter" in html
    assert html.count("<svg") == 2 and "<script" not in html
    assert "TradeBusted" in html and "qty before" in html and "qty after" in html
    # The bust's times in the report's zone, like the blotter's (they were raw nanoseconds).
    import re

    line = re.search(r"<h3>TradeBusted.*?</p>", html, re.S)
    assert line is not None
    assert re.search(r"trade_time=2027-01-06T\d\d:\d\d:\d\d", line.group(0)), line.group(0)


def test_report_of_a_tampered_log_says_so(tmp_path: Path) -> None:
    """Altering one stored entry makes the report say TAMPERED, name the seq, and stop there."""
    path = tmp_path / "day.db"
    cfg = day_config(seed=6)
    world = World(cfg, start_ns=tokyo(DAY, 7), log=path, until_ns=tokyo(DAY, 16))
    run_day(
        world,
        Flow(6, cfg.instruments, continuous_windows(DAY), mean_gap_ns=60_000_000_000),
        end_ns=tokyo(DAY, 16),
    )
    world.close()
    with sqlite3.connect(path) as db:
        body = db.execute("SELECT body FROM events WHERE seq = 50").fetchone()[0]
        db.execute("UPDATE events SET body = ? WHERE seq = 50", (body[:-1] + bytes([body[-1] ^ 1]),))
    store = open_log(path, FixedClock(0), create=False)
    html = render(store)
    store.close()
    assert "TAMPERED" in html and "seq 50" in html and "Trade blotter" not in html
