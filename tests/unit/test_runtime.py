"""The CQRS runtime: commands logged with their events atomically, idempotent retries, recovery
from failing handlers, restart, projections, batching, snapshots and the run manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from system.clock import FixedClock
from system.eventlog import Command, Event, EventStore, LoggedEvent, open_log, verify
from system.runtime import (
    CommandFailed,
    Component,
    Context,
    Projection,
    RunStarted,
    Runtime,
    applies,
    handles,
    manifest,
    on_event,
    reacts,
    rebuild,
)


class RtDeposit(Command, frozen=True):
    account: str
    amount: int


class RtWithdraw(Command, frozen=True):
    account: str
    amount: int


class RtExplode(Command, frozen=True):
    account: str


class RtDeposited(Event, frozen=True):
    account: str
    amount: int

    def stream(self) -> str:
        return f"account/{self.account}"


class RtWithdrawn(Event, frozen=True):
    account: str
    amount: int

    def stream(self) -> str:
        return f"account/{self.account}"


class RtRejected(Event, frozen=True):
    account: str
    reason: str

    def stream(self) -> str:
        return f"account/{self.account}"


class RtLargeBalance(Event, frozen=True):
    account: str

    def stream(self) -> str:
        return "alerts"


class Ledger(Component):
    name = "ledger"

    def __init__(self) -> None:
        self.balances: dict[str, int] = {}
        self.handled = 0

    @handles(RtDeposit)
    def deposit(self, cmd: RtDeposit, ctx: Context) -> bool:
        self.handled += 1
        ctx.emit(RtDeposited(cmd.account, cmd.amount))
        return True

    @handles(RtWithdraw)
    def withdraw(self, cmd: RtWithdraw, ctx: Context) -> bool:
        self.handled += 1
        if self.balances.get(cmd.account, 0) < cmd.amount:
            ctx.emit(RtRejected(cmd.account, f"balance below {cmd.amount}"))
        else:
            ctx.emit(RtWithdrawn(cmd.account, cmd.amount))
        return True

    @handles(RtExplode)
    def explode(self, cmd: RtExplode, ctx: Context) -> bool:
        ctx.emit(RtDeposited(cmd.account, 1_000_000))  # applied to memory, then the handler fails
        raise RuntimeError("boom")

    @applies(RtDeposited)
    def _deposited(self, ev: RtDeposited) -> None:
        self.balances[ev.account] = self.balances.get(ev.account, 0) + ev.amount

    @applies(RtWithdrawn)
    def _withdrawn(self, ev: RtWithdrawn) -> None:
        self.balances[ev.account] -= ev.amount

    @reacts(RtDeposited)
    def _alert(self, ev: RtDeposited, ctx: Context) -> None:
        if self.balances[ev.account] >= 1_000 and ev.amount < 1_000_000:
            ctx.emit(RtLargeBalance(ev.account))

    def snapshot_state(self) -> Any:
        return dict(sorted(self.balances.items()))

    def restore_state(self, state: Any) -> None:
        self.balances = msgspec.convert(state, dict[str, int])


class Balances(Projection):
    name = "balances"

    def __init__(self) -> None:
        super().__init__()
        self.totals: dict[str, int] = {}
        self.alerts: list[int] = []

    @on_event(RtDeposited)
    def _dep(self, ev: LoggedEvent) -> None:
        rec: RtDeposited = ev.record  # type: ignore[assignment]
        self.totals[rec.account] = self.totals.get(rec.account, 0) + rec.amount

    @on_event("RtWithdrawn")
    def _wd(self, ev: LoggedEvent) -> None:
        rec: RtWithdrawn = ev.record  # type: ignore[assignment]
        self.totals[rec.account] -= rec.amount

    @on_event(RtLargeBalance)
    def _large(self, ev: LoggedEvent) -> None:
        self.alerts.append(ev.seq)


def make(store: EventStore | None = None, clock: FixedClock | None = None, **kw: Any) -> Runtime:
    clk = clock or FixedClock(1_000)
    return Runtime(store or open_log("memory://", clk), clk, build=lambda: [Ledger()], **kw)


def ledger(rt: Runtime) -> Ledger:
    led: Ledger = rt.component(Ledger)
    return led


def test_command_is_logged_with_its_events_in_one_batch() -> None:
    """The command entry comes first, then its events, all with the command's time and id."""
    clock = FixedClock(5_000)
    rt = make(clock=clock)
    out = rt.execute(RtDeposit("A", 1_500), command_id="c-1")
    entries = list(rt.store.read())
    assert [e.type for e in entries] == ["RtDeposit", "RtDeposited", "RtLargeBalance"]
    assert out.command_seq == 1 and [e.seq for e in out.events] == [2, 3]
    assert {e.recorded_time for e in entries} == {5_000}
    assert {e.valid_time for e in entries} == {5_000}
    assert {e.causation_id for e in entries} == {"c-1"}
    assert entries[0].stream == "input"
    assert out.records == [RtDeposited("A", 1_500), RtLargeBalance("A")]


def test_retried_command_id_returns_the_stored_outcome() -> None:
    """Executing the same command id again returns the first outcome and runs nothing."""
    rt = make()
    first = rt.execute(RtDeposit("A", 10), command_id="pay-1")
    again = rt.execute(RtDeposit("A", 10), command_id="pay-1")
    assert again.duplicate and again.command_seq == first.command_seq
    assert again.events == first.events
    assert ledger(rt).handled == 1 and ledger(rt).balances == {"A": 10}
    assert rt.store.head().seq == 2


def test_failing_handler_appends_nothing_and_rebuilds_state() -> None:
    """A handler that raises leaves the log untouched and the state as the log says."""
    rt = make()
    rt.execute(RtDeposit("A", 10))
    head = rt.store.head()
    with pytest.raises(CommandFailed, match="RtExplode"):
        rt.execute(RtExplode("A"))
    assert rt.store.head() == head
    assert ledger(rt).balances == {"A": 10}
    rt.execute(RtWithdraw("A", 10))
    assert ledger(rt).balances == {"A": 0}


def test_reopening_a_log_restores_state_and_the_command_counter(tmp_path: Path) -> None:
    """A runtime over an existing log folds it: same state, next id continues, retries still dedupe."""
    path = tmp_path / "rt.db"
    rt = make(open_log(path, FixedClock(1)))
    rt.execute(RtDeposit("A", 30))
    rt.execute(RtWithdraw("A", 5))
    rt.execute(RtDeposit("B", 7), command_id="ext-9")
    rt.store.close()
    again = make(open_log(path, FixedClock(2)))
    assert ledger(again).balances == {"A": 25, "B": 7}
    assert again.next_command_id() == "cmd-3"
    dup = again.execute(RtDeposit("B", 7), command_id="ext-9")
    assert dup.duplicate and ledger(again).balances["B"] == 7
    again.store.close()


def test_rebuilt_projection_equals_the_live_one() -> None:
    """Dropping a projection and folding the log into a fresh one gives identical state."""
    live = Balances()
    rt = make(projections=[live])
    for i in range(20):
        rt.execute(RtDeposit("AB"[i % 2], 100 * i))
        rt.execute(RtWithdraw("A", 50))
    fresh = Balances()
    fresh.rebuild(rt.store)
    assert (fresh.totals, fresh.alerts, fresh.position) == (live.totals, live.alerts, live.position)
    assert live.position == rt.store.head().seq


def test_batched_flushes_atomically_and_survives_a_failure() -> None:
    """batched() appends many commands per batch; a failure inside logs the accepted ones first."""
    rt = make()
    with rt.batched(max_commands=3):
        for _ in range(7):
            rt.execute(RtDeposit("A", 1))
        with pytest.raises(CommandFailed):
            rt.execute(RtExplode("A"))
        rt.execute(RtDeposit("A", 1))
    assert ledger(rt).balances == {"A": 8}
    assert sum(1 for e in rt.store.read() if e.type == "RtDeposit") == 8
    assert ledger(rt).balances == ledger(make(rt.store)).balances
    assert verify(rt.store).ok


def test_batched_retry_of_a_buffered_command() -> None:
    """A command id retried while its first run is still buffered returns the stored outcome."""
    rt = make()
    with rt.batched():
        rt.execute(RtDeposit("A", 3), command_id="x")
        dup = rt.execute(RtDeposit("A", 3), command_id="x")
    assert dup.duplicate and ledger(rt).balances == {"A": 3}


def test_snapshot_plus_tail_equals_full_fold() -> None:
    """Restoring the latest snapshot at or before a seq and replaying the tail equals a full fold."""
    rt = make(snapshot_every=10)
    for i in range(40):
        rt.execute(RtDeposit("ABC"[i % 3], i))
        if i % 4 == 0:
            rt.execute(RtWithdraw("A", 2))
    assert len(rt.store.list_snapshots("ledger")) >= 3
    head = rt.store.head().seq
    for to_seq in (5, 23, 57, head):
        fast = rebuild(rt.store, lambda: [Ledger()], to_seq)[0]
        slow = rebuild(rt.store, lambda: [Ledger()], to_seq, snapshots=False)[0]
        assert isinstance(fast, Ledger) and isinstance(slow, Ledger)
        assert fast.balances == slow.balances
    final = rebuild(rt.store, lambda: [Ledger()])[0]
    assert isinstance(final, Ledger) and final.balances == ledger(rt).balances


def test_run_manifest_is_the_logs_first_entry() -> None:
    """start_run stores seed, code version, config hash and calendar version on stream 'run'."""
    rt = make()
    m = manifest(seed=42, config={"venue": "XTKS", "agents": 3}, start_time=123, label="day-1")
    rt.start_run(m)
    (ev,) = list(rt.store.read())
    assert ev.stream == "run" and ev.type == "RunStarted"
    rec = ev.record
    assert isinstance(rec, RunStarted)
    assert (rec.seed, rec.start_time, rec.label) == (42, 123, "day-1")
    assert rec.config_hash == manifest(1, {"agents": 3, "venue": "XTKS"}, 0).config_hash
    assert rec.config_hash != manifest(1, {"agents": 4, "venue": "XTKS"}, 0).config_hash
    assert rec.code_version and rec.calendar_version


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(
        st.sampled_from([None, None, None, "ext-1", "ext-2", "cmd-2", "cmd-5", "cmd-40"]), max_size=25
    ),
    batch=st.sampled_from([0, 1, 3]),
)
def test_every_command_id_dedupes_live_and_after_reopening(ids: list[str | None], batch: int) -> None:
    """Generated ids (kept compactly by counter) and explicit ones, in any mix, batched or not: a
    retry of any id in the log returns that command's logged outcome and runs nothing, on the live
    runtime and on one reopened over the same log."""
    rt = make()

    def run() -> None:
        for cid in ids:
            rt.execute(RtDeposit("A", 1), command_id=cid)

    if batch:
        with rt.batched(max_commands=batch):
            run()
    else:
        run()
    # What the log says each command id produced: its command entry and the events right after
    # it. A generated id can meet an explicit one of the same name; then the latest run answers.
    logged: dict[str, tuple[int, list[int]]] = {}
    runs = 0
    for e in rt.store.read():
        if e.kind == "command":
            logged[e.causation_id] = (e.seq, [])
            last = e.causation_id
            runs += 1
        else:
            assert e.causation_id == last
            logged[last][1].append(e.seq)
    head = rt.store.head().seq
    for runtime in (rt, make(rt.store)):
        assert runtime.commands_seen == len(logged)  # one per distinct id, wherever it is kept
        for cid, (seq, events) in logged.items():
            out = runtime.execute(RtDeposit("A", 1), command_id=cid)
            assert out.duplicate and out.command_seq == seq
            assert [e.seq for e in out.events] == events
        assert runtime.store.head().seq == head
        assert ledger(runtime).balances.get("A", 0) == runs
