"""A warm start restores the components, the command-id table and the read models that can
snapshot from their latest snapshots and folds only the log's tail: it equals a cold full fold and
the live runtime, after any mix of generated and explicit command ids and snapshot points."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from system.clock import FixedClock
from system.eventlog import Command, Event, EventStore, LoggedEvent, open_log
from system.runtime import Component, Context, Projection, Runtime, applies, handles, on_event

# Record types of their own (not test_runtime's): a record name maps to one class in the registry.


class WmDeposit(Command, frozen=True):
    account: str
    amount: int


class WmWithdraw(Command, frozen=True):
    account: str
    amount: int


class WmDeposited(Event, frozen=True):
    account: str
    amount: int

    def stream(self) -> str:
        return f"account/{self.account}"


class WmWithdrawn(Event, frozen=True):
    account: str
    amount: int

    def stream(self) -> str:
        return f"account/{self.account}"


class Ledger(Component):
    name = "wm-ledger"

    def __init__(self) -> None:
        self.balances: dict[str, int] = {}

    @handles(WmDeposit)
    def deposit(self, cmd: WmDeposit, ctx: Context) -> bool:
        ctx.emit(WmDeposited(cmd.account, cmd.amount))
        return True

    @handles(WmWithdraw)
    def withdraw(self, cmd: WmWithdraw, ctx: Context) -> bool:
        if self.balances.get(cmd.account, 0) >= cmd.amount:
            ctx.emit(WmWithdrawn(cmd.account, cmd.amount))
        return True

    @applies(WmDeposited)
    def _deposited(self, ev: WmDeposited) -> None:
        self.balances[ev.account] = self.balances.get(ev.account, 0) + ev.amount

    @applies(WmWithdrawn)
    def _withdrawn(self, ev: WmWithdrawn) -> None:
        self.balances[ev.account] -= ev.amount

    def snapshot_state(self) -> Any:
        return dict(sorted(self.balances.items()))

    def restore_state(self, state: Any) -> None:
        self.balances = msgspec.convert(state, dict[str, int])


class SnapBalances(Projection):
    """A read model that snapshots (totals and the seqs of the withdrawals it saw)."""

    name = "snap-balances"

    def __init__(self) -> None:
        super().__init__()
        self.totals: dict[str, int] = {}
        self.withdrawals: list[int] = []

    @on_event(WmDeposited)
    def _dep(self, ev: LoggedEvent) -> None:
        rec: WmDeposited = ev.record  # type: ignore[assignment]
        self.totals[rec.account] = self.totals.get(rec.account, 0) + rec.amount

    @on_event(WmWithdrawn)
    def _wd(self, ev: LoggedEvent) -> None:
        rec: WmWithdrawn = ev.record  # type: ignore[assignment]
        self.totals[rec.account] -= rec.amount
        self.withdrawals.append(ev.seq)

    def snapshot_state(self) -> Any:
        return {"totals": dict(sorted(self.totals.items())), "withdrawals": self.withdrawals}

    def restore_state(self, state: Any) -> None:
        self.totals = msgspec.convert(state["totals"], dict[str, int])
        self.withdrawals = list(state["withdrawals"])


class CountingStore:
    """A store that counts the entries a start-up reads (what a warm start saves)."""

    def __init__(self, inner: EventStore) -> None:
        self.inner = inner
        self.read_entries = 0

    def read(self, *a: Any, **kw: Any) -> Any:
        for ev in self.inner.read(*a, **kw):
            self.read_entries += 1
            yield ev

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _runtime(store: Any, clock: FixedClock, *, warm: bool = False, every: int = 0) -> Runtime:
    return Runtime(
        store, clock, lambda: [Ledger()], projections=[SnapBalances()], snapshot_every=every, warm_start=warm
    )


def _state(rt: Runtime) -> dict[str, Any]:
    led: Ledger = rt.component(Ledger)
    (p,) = rt.projections
    assert isinstance(p, SnapBalances)
    return {
        "balances": dict(led.balances),
        "totals": dict(p.totals),
        "withdrawals": list(p.withdrawals),
        "position": p.position,
        "command ids": sorted(rt._done.items()),
        "next id": rt._next_id,
        "commands": rt.commands_seen,
    }


_STEP = st.tuples(
    st.sampled_from(["deposit", "withdraw", "snapshot"]),
    st.sampled_from([None, None, None, "ext-1", "ext-2", "cmd-3", "cmd-9"]),
)


@settings(max_examples=50, deadline=None)
@given(steps=st.lists(_STEP, min_size=1, max_size=40))
def test_a_warm_start_at_every_snapshot_equals_a_cold_fold_and_the_live_runtime(
    steps: list[tuple[str, str | None]],
) -> None:
    """After every step (a command, or a snapshot), a warm start over the log equals a cold one,
    and both hold the live state; a retry of every logged id on the warm runtime answers as on
    the live one."""
    clock = FixedClock(1_000)
    store = open_log("memory://", clock)
    live = _runtime(store, clock)
    for i, (op, cid) in enumerate(steps):
        if op == "snapshot":
            live.snapshot()
        elif op == "deposit":
            live.execute(WmDeposit("AB"[i % 2], i + 1), command_id=cid)
        else:
            live.execute(WmWithdraw("A", 2), command_id=cid)
        cold = _state(_runtime(store, clock))
        assert _state(_runtime(store, clock, warm=True)) == cold
        # The live counter skips explicit ids that look generated ("cmd-9"); a fold counts them.
        assert {k: v for k, v in cold.items() if k != "next id"} == {
            k: v for k, v in _state(live).items() if k != "next id"
        }
    head = store.head().seq
    warm = _runtime(store, clock, warm=True)
    for cid, (first, _) in sorted(live._done.items()):
        out = warm.execute(WmDeposit("A", 1), command_id=cid)
        assert out.duplicate and out.command_seq == first
        assert out.events == live.execute(WmDeposit("A", 1), command_id=cid).events
    assert store.head().seq == head


def test_a_warm_start_reads_only_the_tail_after_the_snapshot() -> None:
    """With every part snapshotted, a restart reads the entries after the snapshot, not the log."""
    clock = FixedClock(1_000)
    store = open_log("memory://", clock)
    live = _runtime(store, clock)
    for i in range(200):
        live.execute(WmDeposit("AB"[i % 2], i + 1))
    at = live.snapshot()
    for _ in range(5):
        live.execute(WmWithdraw("A", 1))
    tail = store.head().seq - at
    counted = CountingStore(store)
    warm = _runtime(counted, clock, warm=True)
    assert counted.read_entries == tail
    assert _state(warm) == _state(live)
    cold = CountingStore(store)
    _runtime(cold, clock)
    assert cold.read_entries == store.head().seq
