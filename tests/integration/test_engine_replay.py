"""The engine over a real SQLite log: reopening, replay from the start and from a snapshot agree."""

from __future__ import annotations

import random
from pathlib import Path

from system.clock import FixedClock
from system.engine import (
    CancelOrder,
    ChangePhase,
    ListInstrument,
    MatchingEngine,
    Phase,
    Side,
    SubmitOrder,
    TimeInForce,
)
from system.engine.testkit import instrument
from system.eventlog import open_log
from system.eventlog.snapblob import unpack_state
from system.runtime import Runtime

X = "XTKS:7203"


def drive(rt: Runtime, clock: FixedClock, rng: random.Random, n: int, start: int) -> None:
    for i in range(start, start + n):
        clock.t += 1_000
        if i % 5 == 4:
            rt.execute(CancelOrder("A" if i % 2 else "B", X, rng.randint(1, i)))
        else:
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            rt.execute(
                SubmitOrder("A" if i % 2 else "B", f"c{i}", X, side, rng.randint(1, 5) * 100,
                            price=rng.randint(990, 1010), tif=TimeInForce.GTC)
            )  # fmt: skip


def test_reopened_log_and_snapshot_replay_rebuild_the_same_engine(tmp_path: Path) -> None:
    """A restart folds the SQLite log into the same state; a snapshot plus the tail gives it too."""
    clock = FixedClock(1_000)
    rng = random.Random(7)
    path = tmp_path / "day.db"
    store = open_log(path, clock)
    rt = Runtime(store, clock, lambda: [MatchingEngine()])
    rt.execute(ListInstrument(instrument(X, lot_size=100, reference_price=1000)))
    drive(rt, clock, rng, 300, 0)
    snap_seq = rt.snapshot()
    drive(rt, clock, rng, 300, 300)
    rt.execute(ChangePhase("XTKS", Phase.CLOSING_AUCTION))
    rt.execute(ChangePhase("XTKS", Phase.CLOSED))
    live = rt.component(MatchingEngine).snapshot_state()
    store.close()

    store2 = open_log(path, clock, create=False)
    again = Runtime(store2, clock, lambda: [MatchingEngine()]).component(MatchingEngine)
    assert again.snapshot_state() == live

    snap = store2.load_snapshot("engine", snap_seq)
    assert snap is not None and snap.seq == snap_seq
    engine = MatchingEngine()
    engine.restore_state(unpack_state(snap.state))
    table = engine.appliers()
    for ev in store2.read(snap_seq + 1):
        for fn in table.get(type(ev.record), ()):
            fn(ev.record)
    assert engine.snapshot_state() == live
    store2.close()
