"""Re-runs through today's engines: an untouched log reproduces its head hash, a changed engine
shows its first divergence, a what-if configuration shows up in the diff, and rebasing keeps the
flow's local times under another date's sessions."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from sim.clock.virtual import VirtualClock
from sim.replay import override, rebase, recorded_config, rerun
from sim.replay.diff import diff_logs
from sim.replay.export import trades_frame
from sim.replay.synthetic import Flow, continuous_windows, day_config, run_day, tokyo
from sim.world import World
from system.clock import FixedClock, to_datetime
from system.engine import CancelReason, MatchingEngine, OrderRejected, RejectReason, SubmitOrder
from system.eventlog import EventStore, open_log

DAY = date(2027, 1, 6)


@pytest.fixture(scope="module")
def store() -> EventStore:
    """A simulated TSE day (about 2,500 commands)."""
    cfg = day_config(seed=9)
    world = World(cfg, start_ns=tokyo(DAY, 7), until_ns=tokyo(DAY, 16))
    flow = Flow(9, cfg.instruments, continuous_windows(DAY), mean_gap_ns=6_000_000_000)
    with world.runtime.batched(100):  # batched appends, as simulated days are written
        run_day(world, flow, end_ns=tokyo(DAY, 16))
    return world.store


def fresh() -> EventStore:
    return open_log("memory://", FixedClock(0))


def fresh_virtual() -> EventStore:
    """A log whose clock the rebased run drives (its recorded times are the new date's)."""
    return open_log("memory://", VirtualClock(0))


def test_rerun_of_an_untouched_log_reproduces_its_head_hash(store: EventStore) -> None:
    """Re-executing the logged inputs gives the same log, byte for byte."""
    res = rerun(store, fresh())
    assert res.same and res.divergence is None
    assert res.rerun_head == (store.head().seq, store.head().hash.hex())


def test_rerun_of_a_log_that_never_finished_does_not_finish_either(store: EventStore) -> None:
    """An original without RunFinished (killed, or still being written) gets a re-run with the
    same entries and head and no RunFinished of its own: verify calls both incomplete, and the
    re-run's head is the one it is said to equal."""
    from system.eventlog.verify import verify

    assert verify(store).incomplete is not None
    out = fresh()
    res = rerun(store, out)
    assert res.same and out.head() == store.head()
    assert verify(out).incomplete is not None


def test_a_one_line_engine_change_shows_the_first_divergence(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user cancel reported with another reason diverges at the first user cancel, both shown."""
    orig = MatchingEngine._cancel

    def changed(self: MatchingEngine, ctx: Any, o: Any, reason: CancelReason) -> None:
        orig(self, ctx, o, CancelReason.KILL_SWITCH if reason is CancelReason.USER else reason)

    monkeypatch.setattr(MatchingEngine, "_cancel", changed)
    res = rerun(store, fresh())
    first = next(e for e in store.read(1) if e.type == "OrderCancelled")
    d = res.divergence
    assert not res.same and d is not None and d.seq == first.seq
    assert d.original is not None and d.rerun is not None
    assert (d.original["payload"]["reason"], d.rerun["payload"]["reason"]) == ("USER", "KILL_SWITCH")


def _acted_on(s: EventStore) -> dict[str, tuple[str, Any]]:
    """Per cancel or replace command (by command id): the (account, client order id) it changed,
    or the reason it was refused."""
    client: dict[int, tuple[str, str]] = {}
    out: dict[str, tuple[str, Any]] = {}
    moves: set[str] = set()  # the command ids of cancels and replaces
    for e in s.read(1):
        r = e.record
        if type(r).__name__ in ("CancelOrder", "ReplaceOrder"):
            moves.add(e.causation_id)
        elif e.causation_id not in moves:
            if type(r).__name__ == "OrderAccepted":
                client[r.order_id] = (r.account, r.client_order_id)  # type: ignore[attr-defined]
            continue
        if type(r).__name__ == "OrderAccepted":
            client[r.order_id] = (r.account, r.client_order_id)  # type: ignore[attr-defined]
        elif type(r).__name__ in ("OrderCancelled", "OrderReplaced"):
            out.setdefault(e.causation_id, ("changed", client.get(r.order_id)))  # type: ignore[attr-defined]
        elif isinstance(r, OrderRejected) and r.command in ("CancelOrder", "ReplaceOrder"):
            out.setdefault(e.causation_id, ("refused", r.reason))
    return out


@pytest.fixture(scope="module")
def simulated() -> EventStore:
    """Fifteen minutes of the simulator's agents, whose cancels and replaces name order ids."""
    from sim.markets import simulated_day

    d = simulated_day("XTKS", date(2027, 1, 4), instruments=["7203", "6758"], seed=11)
    d.end_ns = d.start_ns + 70 * 60 * 10**9
    d.run()
    d.world.runtime.flush()
    return d.world.store


def test_what_if_cancels_and_replaces_reach_the_same_client_orders(simulated: EventStore) -> None:
    """The what-if assigns its own order ids (it rejects some orders the original accepted), yet
    every recorded cancel or replace acts on the order with the same account and client order id
    as in the original, or, when the what-if never accepted that order, is refused as unknown.
    (Without the mapping most of them hit the wrong order or none.)"""
    store = simulated
    cfg = override(recorded_config(store), ["instruments.XTKS:7203.max_qty=500"])
    out = fresh()
    rerun(store, out, config=cfg)
    never = {
        (e.record.account, e.record.client_order_id)
        for e in out.read(1)
        if isinstance(e.record, OrderRejected) and e.record.command == "SubmitOrder"
    }
    assert never  # the what-if did reject orders the original accepted
    before, after = _acted_on(store), _acted_on(out)
    changed = [k for k, v in before.items() if v[0] == "changed"]
    assert len(changed) > 100
    for k in changed:
        was, now = before[k], after[k]
        if now[0] == "changed":
            assert now == was, k
        else:  # refused: an order the what-if rejected or closed already, or its new limit
            follows = (RejectReason.UNKNOWN_ORDER, RejectReason.ORDER_CLOSED, RejectReason.QTY_ABOVE_MAX)
            assert now[1] in (*follows, RejectReason.NO_CHANGE), (k, now)
            assert now[1] != RejectReason.UNKNOWN_ORDER or was[1] in never, (k, was)


def test_what_if_lower_max_qty_lists_the_rejected_orders(store: EventStore) -> None:
    """With max_qty 500 on one instrument, every larger order of it is listed as rejected."""
    cfg = override(recorded_config(store), ["instruments.XTKS:7203.max_qty=500"])
    out = fresh()
    res = rerun(store, out, config=cfg)
    assert not res.same
    big = {
        (e.record.account, e.record.client_order_id)
        for e in store.read(1)
        if isinstance(e.record, SubmitOrder) and e.record.instrument == "XTKS:7203" and e.record.qty > 500
    }
    orders = {d.key: d for d in diff_logs(store, out) if d.kind == "order"}
    # Later cancels of those orders are refused too (unknown order): consequences, listed apart.
    rejected = {
        k
        for k, d in orders.items()
        if d.right and d.right["status"] == "rejected" and "/" not in k.split("/", 1)[1]
    }
    assert rejected == {f"{a}/{c}" for a, c in big}
    assert all(orders[k].right["reason"].startswith("QTY_ABOVE_MAX") for k in rejected)


def _local_trades(s: EventStore) -> list[tuple[Any, ...]]:
    df = trades_frame(s)
    return [
        (
            r.instrument,
            r.price,
            r.qty,
            r.buy_account,
            r.sell_account,
            to_datetime(r.time_ns, "Asia/Tokyo").timetz(),
        )
        for r in df.itertuples()
    ]


def test_rebase_onto_a_normal_future_day_reproduces_the_trades(store: EventStore) -> None:
    """On 2031-12-30 (a Tuesday session) the same flow makes the same trades at the same local times."""
    out = fresh_virtual()
    res = rebase(store, date(2031, 12, 30), out)
    assert res.trades > 0 and not res.rejected.get("WRONG_PHASE")
    assert _local_trades(out) == _local_trades(store)
    assert res.trades == len(trades_frame(out))  # the auctions' trades counted too
    assert all(
        to_datetime(t, "Asia/Tokyo").date() == date(2031, 12, 30) for t in trades_frame(out)["time_ns"]
    )


def test_rebase_onto_a_holiday_rejects_the_flow_as_market_closed(store: EventStore) -> None:
    """On New Year's Day the venue never opens, so the engine rejects every order (WRONG_PHASE)."""
    out = fresh_virtual()
    res = rebase(store, date(2032, 1, 1), out)
    submits = sum(1 for e in store.read(1) if isinstance(e.record, SubmitOrder))
    assert res.trades == 0 and res.accepted == 0
    assert res.rejected["WRONG_PHASE"] == submits
    rej = [
        e.record
        for e in out.read(1)
        if isinstance(e.record, OrderRejected) and e.record.command == "SubmitOrder"
    ]
    assert rej and all(r.reason is RejectReason.WRONG_PHASE for r in rej)
