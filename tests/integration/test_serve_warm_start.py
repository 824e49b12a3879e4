"""A restart of the served system over its log warm-starts from the latest snapshots and comes
out identical to a cold full fold and to the live state before the restart: every component, every
read model, the command ids (retries) and the router's order ownership."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
from collections import deque
from pathlib import Path
from typing import Any

import msgspec
import pytest

from chronex.commands.serve import ServedWorld, WorldHost
from system.bootstrap import SystemConfig
from system.engine import CancelOrder, OrderAccepted, Side, SubmitOrder
from system.engine.marketdata import MarketData
from system.engine.snapshot import snapshot
from system.engine.testkit import instrument
from system.eventlog.codec import canonical
from system.server.clockmode import ClockMode
from system.server.server import Server

T0 = 1_925_434_800 * 10**9  # 2031-01-06 10:00 JST
INSTS = ("XTKS:7203", "XTKS:6758")


def _config(risk: Any = None) -> SystemConfig:
    insts = tuple(instrument(i) for i in INSTS)
    return SystemConfig(instruments=insts, venues=(), snapshot_every=40, risk=risk)


def _server(log: str, *, warm: bool, risk: Any = None) -> Server:
    world = ServedWorld(_config(risk), start_ns=T0, log=log, sessions=False, warm_start=warm)
    host = WorldHost(world)
    return Server(host, ClockMode(world.clock))


def _trade(srv: Server, n: int, first: int = 0) -> None:
    """Two sessions quote, cross and cancel on two books; each batch is one append."""
    seq = srv.sequencer
    for i in range(first, first + n):
        inst = INSTS[i % 2]
        price = 2500 + (i % 7) - 3
        seq.submit("S1", f"b{i}", SubmitOrder("A", f"b{i}", inst, Side.BUY, 100, price=price))
        seq.submit("S2", f"s{i}", SubmitOrder("B", f"s{i}", inst, Side.SELL, 200, price=price + 1))
        if i % 3 == 0:
            seq.submit("S2", f"x{i}", SubmitOrder("B", f"x{i}", inst, Side.SELL, 150, price=price - 2))
        seq.step()
        if i % 5 == 4:
            seq.submit("S1", f"c{i}", CancelOrder("A", f"b{i - 1}", INSTS[(i - 1) % 2]))
            seq.step()


_LOCKS = (type(threading.Lock()), type(threading.RLock()))


def _plain(obj: Any) -> Any:
    """A read model as plain data: objects by their attributes, functions by name."""

    def hook(o: Any) -> Any:
        if isinstance(o, _LOCKS):  # a subscription's lock is not state
            return None
        if isinstance(o, deque):
            return list(o)
        if callable(o):
            return getattr(o, "__qualname__", type(o).__name__)
        if hasattr(o, "__dict__"):
            return {k: v for k, v in vars(o).items() if not k.startswith("_subscr")}
        if hasattr(o, "__slots__"):
            return {k: getattr(o, k) for k in o.__slots__ if hasattr(o, k)}
        raise TypeError(f"cannot digest {type(o).__name__}")

    return msgspec.json.encode(msgspec.to_builtins(obj, enc_hook=hook, str_keys=True), order="sorted")


def _state(srv: Server) -> dict[str, Any]:
    rt = srv.host.runtime
    out: dict[str, Any] = {f"component {c.name}": canonical(c.snapshot_state()) for c in rt.components}
    for p in rt.projections:
        if type(p).__name__ != "_Tap":  # the sequencer's own hand-off, rebuilt empty each start
            # A read model that follows a component (MarketData follows the engine) holds the
            # runtime it follows: compare what it answers (the engine's state in snapshot form;
            # heaps may hold different stale entries after a restore, which no answer shows).
            followed = isinstance(getattr(type(p), "state", None), property)
            if followed:
                out[f"projection {p.name}"] = canonical(snapshot(p.state))
            elif p.snapshot_state() is not None:  # fills packed or not: compare what it stores
                out[f"projection {p.name}"] = canonical(p.snapshot_state())
            else:
                out[f"projection {p.name}"] = _plain(p)
        if isinstance(p, MarketData):
            out["tape"] = [p.trades(i) for i in INSTS]
    out["command ids"] = sorted(rt._done.items())
    out["next command id"] = rt._next_id
    out["owners"] = sorted(srv.router.owner.items())
    out["router position"] = srv.router.position()
    out["head"] = srv.host.store.head()
    return out


def test_a_warm_restart_equals_a_cold_fold_and_the_live_state(tmp_path: Path) -> None:
    """Warm (snapshots + tail) and cold (whole log) restarts hold the state the server had."""
    log = str(tmp_path / "day.db")
    live = _server(log, warm=False)
    _trade(live, 120)
    snap = live.host.store.load_snapshot("engine", None)
    assert snap is not None
    # A tail after the latest snapshot (new ids: _trade's would be retries that append nothing).
    for i in range(7):
        order = SubmitOrder("A", f"t{i}", INSTS[i % 2], Side.BUY, 100, price=2400)
        live.sequencer.submit("S1", f"t{i}", order)
        live.sequencer.step()
    latest = live.host.store.load_snapshot("engine", None)
    assert latest is not None and live.host.store.head().seq > latest.seq
    before = _state(live)
    assert before["owners"] and any(cid.startswith("S1") for cid, _ in before["command ids"])
    live.host.close()

    warm = _server(log, warm=True)
    assert warm.host.runtime._last_snapshot_seq > 0  # it did start from snapshots
    after_warm = _state(warm)
    warm.host.close()
    cold = _server(log, warm=False)
    after_cold = _state(cold)
    cold.host.close()

    for key, value in before.items():
        assert after_warm[key] == value, f"warm start differs in {key}"
        assert after_cold[key] == value, f"cold start differs in {key}"


def test_a_warm_restart_routes_fills_and_refuses_reused_ids_like_the_live_server(tmp_path: Path) -> None:
    """After a warm restart a fill reaches the session that owns the resting order, a retried id
    returns the stored outcome, and a reused id with another order is refused."""
    log = str(tmp_path / "day.db")
    live = _server(log, warm=False)
    _trade(live, 60)
    live.sequencer.submit("S1", "rest", SubmitOrder("A", "rest", INSTS[0], Side.BUY, 100, price=2000))
    live.sequencer.step()
    live.host.runtime.snapshot()
    live.host.close()

    srv = _server(log, warm=True)
    got: dict[str, list[Any]] = {"S1": [], "S2": []}
    srv.router.attach("S1", got["S1"].append)
    srv.router.attach("S2", got["S2"].append)
    results: list[Any] = []
    sell = SubmitOrder("B", "hit", INSTS[0], Side.SELL, 100, price=2000)
    srv.sequencer.submit("S2", "hit", sell, results.append)
    for qty in (100, 999):  # the stored order again, then another order under its id
        buy = SubmitOrder("A", "rest", INSTS[0], Side.BUY, qty, price=2000)
        srv.sequencer.submit("S1", "rest", buy, results.append)
    srv.sequencer.step()
    fills_s1 = [e for e in got["S1"] if type(e.record).__name__ == "TradeExecuted"]
    assert fills_s1, "the resting order's owner did not hear of its fill"
    hit, retry, reused = results
    assert hit.error is None
    assert retry.duplicate and isinstance(retry.events[0].record, OrderAccepted)
    assert reused.error is not None and "different command" in reused.error
    srv.host.close()


def _only_snapshots_up_to(src: str, dst: Path, seq: int) -> str:
    """A copy of the log at ``src`` as it would be had no snapshot been taken after ``seq``."""
    shutil.copyfile(src, dst)
    with sqlite3.connect(dst) as db:
        db.execute("DELETE FROM snapshots WHERE seq > ?", (seq,))
    return str(dst)


@pytest.mark.parametrize("risk", [None, {"accounts": {"A": {"credit": "1e12"}, "B": {"credit": "1e12"}}}])
def test_a_warm_restart_from_every_snapshot_of_a_served_day_equals_a_cold_fold(
    tmp_path: Path, risk: Any
) -> None:
    """Whichever snapshot a restart finds last (each one the served day took), restoring it and
    folding the rest of the log gives exactly the state a cold full fold gives, with and without
    risk (whose accounts read model snapshots too)."""
    log = str(tmp_path / "day.db")
    live = _server(log, warm=False, risk=risk)
    for k in range(6):
        _trade(live, 12, 12 * k)
        live.host.runtime.snapshot()  # besides the sequencer's own, spaced ones
    _trade(live, 5, 100)  # a tail after the last one
    live.host.close()
    cold = _server(log, warm=False, risk=risk)
    want = _state(cold)
    cold.host.close()
    points = _snapshot_points(log)
    assert len(points) >= 6
    for i, at in enumerate(points):
        copy = _only_snapshots_up_to(log, tmp_path / f"at-{i}.db", at)
        warm = _server(copy, warm=True, risk=risk)
        assert warm.host.runtime._last_snapshot_seq == at  # it started from that snapshot
        got = _state(warm)
        warm.host.close()
        for key, value in want.items():
            assert got[key] == value, f"a warm start from the snapshot at seq {at} differs in {key}"


def _snapshot_points(log: str) -> list[int]:
    with sqlite3.connect(log) as db:
        return [
            r[0] for r in db.execute("SELECT DISTINCT seq FROM snapshots WHERE name = 'engine' ORDER BY seq")
        ]


def test_a_graceful_stop_snapshots_the_head_so_the_next_start_folds_nothing(tmp_path: Path) -> None:
    """``Server.stop`` leaves a snapshot at the head: the next warm start restores it, reads no
    entry, and holds what a cold fold holds."""
    log = str(tmp_path / "day.db")
    live = _server(log, warm=False)
    _trade(live, 30)
    head = live.host.store.head().seq
    assert live.host.store.list_snapshots("engine")[-1] < head  # a tail the sequencer left
    asyncio.run(live.stop())
    warm = _server(log, warm=True)
    assert warm.host.runtime._last_snapshot_seq == head
    assert warm.router.position() == head
    got = _state(warm)
    warm.host.close()
    cold = _server(log, warm=False)
    want = _state(cold)
    cold.host.close()
    assert got == want
