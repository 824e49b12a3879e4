"""The server core: the sequencer executes queued commands in batches, scopes command ids per
session, routes order events to the owning session and drop copies, and moves virtual time."""

from __future__ import annotations

import asyncio
from fractions import Fraction
from itertools import pairwise

import msgspec
import pytest

from sim.world import World
from system.bootstrap import SystemConfig
from system.clock import FixedClock
from system.engine import (
    CancelAllOrders,
    MatchingEngine,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    Side,
    SubmitOrder,
    TimeInForce,
    TradeExecuted,
)
from system.engine.testkit import instrument
from system.eventlog import LoggedEvent
from system.server.clockmode import ClockMode, ClockModeError, PacedMode
from system.server.routing import Router
from system.server.sequencer import Result, Sequencer

T0 = 1_800_000_000_000_000_000
INST = "XTKS:7203"


def _world(log: str = "memory://") -> World:
    cfg = SystemConfig(instruments=(instrument(INST),), venues=())
    return World(cfg, start_ns=T0, log=log, sessions=False)


def _buy(cid: str, qty: int = 100, price: int = 2500, account: str = "A", **kw: object) -> SubmitOrder:
    return SubmitOrder(account, cid, INST, Side.BUY, qty, price=price, **kw)  # type: ignore[arg-type]


def _sell(cid: str, qty: int = 100, price: int = 2500, account: str = "B") -> SubmitOrder:
    return SubmitOrder(account, cid, INST, Side.SELL, qty, price=price)


def _seq(world: World) -> Sequencer:
    return Sequencer(world, ClockMode(world.clock))


def test_submitted_commands_reply_with_their_events_after_the_batch_is_logged() -> None:
    """A reply carries the command's own events, and they are in the log when it arrives."""
    w = _world()
    s = _seq(w)
    got: list[Result] = []
    s.submit("QA1", "o1", _buy("o1"), got.append)
    s.submit("QA2", "o1", _sell("o1"), got.append)
    assert s.step() == 2
    assert [type(e.record) for e in got[0].events] == [OrderAccepted]
    assert TradeExecuted in [type(e.record) for e in got[1].events]
    head = w.store.head().seq
    assert all(e.seq <= head for r in got for e in r.events)
    assert got[0].command_id == "QA1/o1" and got[1].command_id == "QA2/o1"


def test_retry_returns_stored_outcome_and_conflicting_reuse_is_refused() -> None:
    """The same id and command is a retry; the same id with another command is refused unlogged."""
    w = _world()
    s = _seq(w)
    got: list[Result] = []
    s.submit("QA1", "o1", _buy("o1"), got.append)
    s.drain()
    head = w.store.head().seq
    s.submit("QA1", "o1", _buy("o1"), got.append)
    s.submit("QA1", "o1", _buy("o1", qty=200), got.append)
    s.drain()
    assert got[1].duplicate and got[1].events == got[0].events
    assert got[2].error is not None and "already used" in got[2].error
    assert w.store.head().seq == head


def test_a_retry_in_the_same_batch_is_compared_with_the_first_attempt() -> None:
    """The first attempt is still in the batch buffer when its retry is taken: the retry is
    answered with its outcome, a reuse with another command is refused, and nothing is lost."""
    w = _world()
    s = _seq(w)
    got: list[Result] = []
    s.submit("QA1", "o1", _buy("o1"), got.append)
    s.submit("QA1", "o1", _buy("o1"), got.append)
    s.submit("QA1", "o1", _buy("o1", qty=200), got.append)
    s.submit("QA1", "o2", _buy("o2"), got.append)
    assert s.step() == 4
    assert got[0].error is None and not got[0].duplicate
    assert got[1].duplicate and got[1].events == got[0].events
    assert got[2].error is not None and "already used" in got[2].error
    assert got[3].error is None and [type(e.record) for e in got[3].events] == [OrderAccepted]
    assert s.knows("QA1", "o1") and s.knows("QA1", "o2") and not s.knows("QA2", "o1")


def test_command_ids_survive_a_restart(tmp_path: object) -> None:
    """After a restart over the same log, a reused id is still recognised."""
    path = f"{tmp_path}/day.db"
    w = _world(path)
    s = _seq(w)
    s.submit("QA1", "o1", _buy("o1"))
    s.drain()
    w.close()
    w2 = World(SystemConfig(instruments=(instrument(INST),)), start_ns=T0, log=path, sessions=False)
    s2 = _seq(w2)
    got: list[Result] = []
    s2.submit("QA1", "o1", _buy("o1", qty=300), got.append)
    s2.submit("QA1", "o1", _buy("o1"), got.append)
    s2.drain()
    assert got[0].error is not None
    assert got[1].duplicate
    w2.close()


def test_router_sends_fills_to_both_owners_and_everything_to_drop_copy() -> None:
    """The resting side's session hears of its fill though another session's order caused it."""
    w = _world()
    s = _seq(w)
    router = Router()
    router.fold(w.store)
    s.subscribe(router)
    heard: dict[str, list[LoggedEvent]] = {"QA1": [], "QA2": [], "dc": []}
    router.attach("QA1", heard["QA1"].append)
    router.attach("QA2", heard["QA2"].append)
    router.attach_drop_copy("dc", heard["dc"].append, accounts=["A"])
    s.submit("QA1", "o1", _buy("o1"))
    s.drain()
    s.submit("QA2", "o2", _sell("o2"))
    s.drain()
    kinds = {k: [type(e.record).__name__ for e in v] for k, v in heard.items()}
    assert kinds["QA1"] == ["OrderAccepted", "TradeExecuted"]
    assert kinds["QA2"] == ["OrderAccepted", "TradeExecuted"]
    assert kinds["dc"] == ["OrderAccepted", "TradeExecuted"]  # account A only


def test_kill_switch_cancels_reach_the_owning_session() -> None:
    """A cancel the session did not ask for (kill switch) still reaches it."""
    w = _world()
    s = _seq(w)
    router = Router()
    router.fold(w.store)
    s.subscribe(router)
    heard: list[LoggedEvent] = []
    router.attach("QA1", heard.append)
    s.submit("QA1", "o1", _buy("o1"))
    s.submit("ops", "k1", CancelAllOrders("A"))
    s.drain()
    assert [type(e.record) for e in heard] == [OrderAccepted, OrderCancelled]


def test_router_ownership_survives_restart(tmp_path: object) -> None:
    """Orders placed before a restart still route to their session after it."""
    path = f"{tmp_path}/day.db"
    w = _world(path)
    s = _seq(w)
    s.submit("QA1", "o1", _buy("o1"))
    s.drain()
    w.close()
    w2 = World(SystemConfig(instruments=(instrument(INST),)), start_ns=T0, log=path, sessions=False)
    s2 = _seq(w2)
    router = Router()
    router.fold(w2.store)
    s2.subscribe(router)
    heard: list[LoggedEvent] = []
    router.attach("QA1", heard.append)
    s2.submit("QA2", "o2", _sell("o2"))
    s2.drain()
    assert [type(e.record) for e in heard] == [TradeExecuted]
    w2.close()


def test_clock_control_runs_timers_and_routes_expiries() -> None:
    """Advancing virtual time through the sequencer fires a GTD expiry, routed to the owner."""
    w = _world()
    s = _seq(w)
    router = Router()
    router.fold(w.store)
    s.subscribe(router)
    heard: list[LoggedEvent] = []
    router.attach("QA1", heard.append)
    s.submit("QA1", "o1", _buy("o1", tif=TimeInForce.GTD, expire_time=T0 + 5_000_000_000))
    got: list[object] = []
    s.control(lambda: s.clock.advance(10_000_000_000), got.append)
    s.drain()
    assert got == [None]
    assert [type(e.record).__name__ for e in heard] == ["OrderAccepted", "OrderExpired"]
    assert s.now() == T0 + 10_000_000_000


def test_rejections_route_by_command_id() -> None:
    """A refused order (no order id) goes back to the session that sent it."""
    w = _world()
    s = _seq(w)
    router = Router()
    router.fold(w.store)
    s.subscribe(router)
    heard: list[LoggedEvent] = []
    router.attach("QA1", heard.append)
    s.submit("QA1", "o1", _buy("o1", qty=0))
    s.drain()
    assert [type(e.record) for e in heard] == [OrderRejected]


def test_paced_mode_follows_the_wall_clock_at_speed_and_refuses_manual_moves() -> None:
    """Paced time is start + wall elapsed x speed; setting it by hand is refused."""
    w = _world()
    wall = FixedClock(5_000)
    mode = PacedMode(w.clock, wall, start_ns=T0 + 1, speed=Fraction(60))
    assert w.clock.now_ns() == T0 + 1
    wall.t += 1_000_000_000
    mode.pump()
    assert w.clock.now_ns() == T0 + 1 + 60_000_000_000
    with pytest.raises(ClockModeError):
        mode.advance(1)


def test_run_loop_serves_calls_and_stops_after_draining() -> None:
    """The asyncio loop executes calls as they come and finishes queued work on stop."""
    w = _world()
    s = _seq(w)

    async def main() -> list[Result]:
        task = asyncio.create_task(s.run())
        a = await s.call("QA1", "o1", _buy("o1"))
        b = await s.call("QA2", "o2", _sell("o2"))
        t = await s.call_control(s.now)
        s.stop()
        await task
        assert t == T0
        return [a, b]

    a, b = asyncio.run(main())
    assert a.error is None and b.error is None
    assert TradeExecuted in [type(e.record) for e in b.events]


def test_gateways_are_held_back_past_the_high_water_mark_and_resumed_once_drained() -> None:
    """Past ``high_water`` queued requests the sequencer reports overload; a gateway waiting in
    ``when_drained`` is called back once a step leaves one batch or less queued, not before."""
    w = _world()
    s = Sequencer(w, ClockMode(w.clock), max_batch=4)
    assert s.high_water == 16
    for i in range(16):
        s.submit("QA1", f"o{i}", _buy(f"o{i}", price=2000 + i))
    assert s.overloaded()
    resumed: list[int] = []
    s.when_drained(lambda: resumed.append(s.queued))
    assert s.step() == 4 and not resumed  # 12 left: more than one batch
    s.step()
    s.step()  # 4 left: one batch
    assert resumed == [4] and not s.overloaded()
    s.when_drained(lambda: resumed.append(-1))  # already drained: called at once
    assert resumed == [4, -1]


def test_snapshots_are_spaced_by_the_log_they_cover(tmp_path: object) -> None:
    """The sequencer snapshots after ``snapshot_every`` entries at first, then only once the log
    has grown by half what the last snapshot covered (the runtime's own spacing is switched off)."""
    cfg = SystemConfig(instruments=(instrument(INST),), venues=(), snapshot_every=10)
    w = World(cfg, start_ns=T0, log=f"{tmp_path}/day.db", sessions=False)
    s = Sequencer(w, ClockMode(w.clock))
    assert w.runtime.snapshot_every == 0 and s.snapshot_every == 10
    taken: list[int] = []
    for i in range(60):
        s.submit("QA1", f"o{i}", _buy(f"o{i}", price=2000 + i))
        s.step()
        snap = w.store.load_snapshot("engine", None)
        if snap is not None and (not taken or snap.seq != taken[-1]):
            taken.append(snap.seq)
    assert len(taken) >= 3
    for prev, nxt in pairwise(taken):
        assert nxt - prev >= max(10, prev // 2)
    w.close()


def test_snapshots_taken_while_serving_hold_the_bytes_an_inline_snapshot_holds(tmp_path: object) -> None:
    """Inside ``run`` a forked child encodes the snapshot while the sequencer goes on; what it
    stores under the fork's seq is byte for byte the state an inline snapshot at that seq holds."""
    cfg = SystemConfig(instruments=(instrument(INST),), venues=(), snapshot_every=10)
    served = World(cfg, start_ns=T0, log=f"{tmp_path}/served.db", sessions=False)
    s = Sequencer(served, ClockMode(served.clock))

    async def serve() -> None:
        task = asyncio.create_task(s.run())
        for i in range(60):
            await s.call("QA1", f"o{i}", _buy(f"o{i}", price=2000 + i))
        s.stop()
        await task  # waits for a snapshot still being encoded

    asyncio.run(serve())
    # At least the first: while a child is encoding, later triggers wait (how many complete
    # depends on the machine's speed; the one started is always stored before ``run`` returns).
    seqs = served.store.list_snapshots("engine")
    assert seqs
    inline = World(cfg, start_ns=T0, log=f"{tmp_path}/inline.db", sessions=False)
    ref = Sequencer(inline, ClockMode(inline.clock))
    for i in range(60):
        ref.submit("QA1", f"o{i}", _buy(f"o{i}", price=2000 + i))
        ref.step()
        if inline.store.head().seq in seqs:
            inline.runtime.snapshot()
    for seq in seqs:
        got, want = served.store.load_snapshot("engine", seq), inline.store.load_snapshot("engine", seq)
        assert got is not None and want is not None and got.seq == seq
        assert (got.state, got.state_hash) == (want.state, want.state_hash)
    served.close()
    inline.close()


def test_a_stuck_snapshot_child_is_killed_and_dropped_so_shutdown_does_not_hang() -> None:
    """A forked snapshot whose child never finishes is killed after the wait's timeout; nothing is stored."""
    import os
    import threading

    from system.server.forksnap import ForkedSnapshot

    class Head:
        seq = 7

    class Store:
        saved: list[object] = []

        def head(self) -> Head:
            return Head()

        def save_snapshot(self, snap: object) -> None:
            self.saved.append(snap)

    class Stuck:
        store = Store()

        def flush(self) -> None:
            pass

        def snapshot(self) -> int:
            threading.Event().wait()  # as a lock another thread held at the fork would
            return 0

    store = Stuck.store
    pending = ForkedSnapshot(Stuck())
    pending.wait(timeout=0.5)
    assert store.saved == []
    try:
        os.kill(pending.pid, 0)
    except ProcessLookupError:
        pass  # reaped: no zombie left behind
    else:
        raise AssertionError(f"child {pending.pid} is still there")


def test_snapshots_of_a_served_day_are_stored_compressed_and_restore_the_same_state(
    tmp_path: object,
) -> None:
    """A large snapshot is stored as a zstd frame (what the loop waits to write is several times
    smaller), a small one as plain msgpack; a warm start reads both back to the live state, and a
    plain msgpack snapshot of an older log still reads."""
    from system.eventlog.codec import canonical
    from system.eventlog.snapblob import ZSTD_MAGIC, pack_state, unpack_state

    cfg = SystemConfig(instruments=(instrument(INST),), venues=(), snapshot_every=0)
    w = World(cfg, start_ns=T0, log=f"{tmp_path}/day.db", sessions=False)
    s = Sequencer(w, ClockMode(w.clock))
    for i in range(400):
        s.submit("QA1", f"o{i}", _buy(f"o{i}", price=2000 + i))
        s.step()
    seq = w.runtime.snapshot()
    engine = w.store.load_snapshot("engine", seq)
    assert engine is not None and engine.state[:4] == ZSTD_MAGIC
    live = w.runtime.component(MatchingEngine).snapshot_state()
    assert len(engine.state) * 3 < len(canonical(live))  # resting orders compress well
    assert unpack_state(engine.state) == msgspec.msgpack.decode(canonical(live))
    small = w.store.load_snapshot("corrections", seq)
    assert small is not None and small.state[:4] != ZSTD_MAGIC
    assert unpack_state(pack_state({"a": 1})) == {"a": 1}
    w.close()
    again = World(cfg, start_ns=T0, log=f"{tmp_path}/day.db", sessions=False, warm_start=True)
    assert again.runtime.component(MatchingEngine).snapshot_state() == live
    again.close()
