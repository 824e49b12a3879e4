"""Speed work keeps the log byte-identical: the same inputs give the same head hash as before it.

The hashes below were recorded on commit 5673ee6, before any change for issue 12. They pin every
byte of every entry (seq, streams, versions, times, ids, payloads), so a faster path that changes
what is logged, or in which order, fails here. The sim runs are driven below the CLI, so no
trailing run-end entry is part of what is pinned.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import date, datetime, time
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sim.markets import simulated_day
from system.bootstrap import SystemConfig, TradingSystem
from system.clock import from_datetime
from system.eventlog import open_log
from system.pricing import load_pricing
from system.risk import load_risk, parse_risk

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2027, 1, 4)
TOKYO = ZoneInfo("Asia/Tokyo")


def _bench_matching() -> ModuleType:
    """bench/matching.py, the workload generator the command-path benchmark uses."""
    name = "_chronex_bench_matching"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "matching.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


class StepClock:
    """Virtual time the driver moves: 100 us per command, as a 10k orders/s session."""

    def __init__(self, t_ns: int) -> None:
        self.t = t_ns

    def now_ns(self) -> int:
        return self.t


def sim_head(log: str) -> tuple[int, str]:
    """A seeded TSE morning, 4 instruments, risk and pricing on, batched as ``chronex sim`` runs."""
    cfg = str(ROOT / "config" / "risk.example.toml")
    start = from_datetime(datetime.combine(DAY, time(8, 50), tzinfo=TOKYO))
    day = simulated_day(
        "XTKS", DAY, instruments=["7203", "9432", "6758", "8306"], seed=5, log=log,
        start_ns=start, until_ns=start + 20 * 60 * 10**9,
        risk=load_risk(cfg), pricing=load_pricing(cfg),
    )  # fmt: skip
    day.run()
    h = day.world.store.head()
    day.close()
    return h.seq, h.hash.hex()


def bench_head(log: str, n: int, risk: dict[str, Any] | None, batch: int = 0) -> tuple[int, str]:
    """The first ``n`` commands of bench/command_path.py's workload A through TradingSystem.execute."""
    m = _bench_matching()
    cmds, _kinds, _insts, _refs = m.generate(n, 1, m.SEED)
    clock = StepClock(1_800_000_000 * 10**9)
    store = open_log(log, clock)
    system = TradingSystem(
        SystemConfig(seed=1, instruments=(m.instrument(0),), risk=parse_risk(risk) if risk else None),
        store,
        clock,
    )
    system.start()
    if batch:
        with system.runtime.batched(batch):
            for c in cmds:
                clock.t += 100_000
                system.execute(c)
    else:
        for c in cmds:
            clock.t += 100_000
            system.execute(c)
    h = store.head()
    store.close()
    return h.seq, h.hash.hex()


GOLDEN_SIM = (20587, "ac0b270770984ac5bb6bb326afe6326b909e1251fc4fbd48ddfce67f56dc0f23")
GOLDEN_BENCH = (45407, "d2fbc3f6ffcad53001cbe4adf8a94785613f69511b2b468538646c5771568a27")
# Batched, recorded_time is the clock at each flush, so the bytes differ from the unbatched run.
GOLDEN_BENCH_BATCHED = (45407, "e8d820eb9c1807d76291e394578ffd2d347a9b3792650029b2533c01200a7621")
GOLDEN_BENCH_RISK = (45407, "6028b0063e0f7dbffc778f49ea34b7c5415c6ccd83def8a1f3e5ae0e0181cc02")


# Full risk as bench/risk.py sets it (ledger, margin, fees), copied so the pinned input stays put.
FULL_RISK: dict[str, Any] = {
    "margin": {"initial_bp": 2000, "maintenance_bp": 1000},
    "firm": {
        "max_order_qty": "1000000",
        "max_notional": "100000000000",
        "collar_bp": 5000,
        "max_open_orders": 100000000,
        "max_orders_per_second": 100000000,
        "max_position": "1000000000000",
    },
    "default_account": {
        "balances": {"JPY": "100000000000"},
        "credit": "100000000000000",
        "max_order_qty": "100000",
        "max_notional": "10000000000",
        "collar_bp": 2000,
        "max_open_orders": 10000000,
        "max_orders_per_second": 1000000,
        "max_position": "1000000000000",
        "maker_fee_bp": 1,
        "taker_fee_bp": 3,
    },
}


def test_simulated_morning_keeps_its_head_hash() -> None:
    """A seeded morning with risk and pricing logs exactly what it logged before the speed work."""
    assert sim_head("memory://") == GOLDEN_SIM


def test_simulated_morning_on_sqlite_keeps_its_head_hash(tmp_path: Path) -> None:
    """The same morning on a SQLite file gives the same head."""
    assert sim_head(str(tmp_path / "day.db")) == GOLDEN_SIM


def test_bench_workload_keeps_its_head_hash() -> None:
    """20k matching commands through the runtime, one by one, log the same bytes."""
    assert bench_head("memory://", 20_000, None) == GOLDEN_BENCH


@pytest.mark.parametrize("log", ["memory://", "sqlite"])
def test_batched_bench_workload_keeps_its_head_hash(log: str, tmp_path: Path) -> None:
    """The same commands batched 4,096 per append, on memory and on SQLite, log the same bytes."""
    url = str(tmp_path / "b.db") if log == "sqlite" else log
    assert bench_head(url, 20_000, None, 4096) == GOLDEN_BENCH_BATCHED


def test_bench_workload_with_full_risk_keeps_its_head_hash(tmp_path: Path) -> None:
    """The same commands behind full risk (ledger and margin), on SQLite, log the same bytes."""
    assert bench_head(str(tmp_path / "b.db"), 20_000, FULL_RISK) == GOLDEN_BENCH_RISK
