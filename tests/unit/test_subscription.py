"""The subscription seam: gapless, ordered batches from a subscriber's own position, resumed
exactly once after a restart, fed by the sequencer's notify or by polling."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from system.clock import FixedClock
from system.eventlog import Event, EventStore, LoggedEvent, NewEvent, open_log
from system.server.subscription import (
    MemoryPositions,
    SQLitePositions,
    Subscriber,
    Subscription,
    Tracked,
)


class SubTicked(Event, frozen=True):
    n: int

    def stream(self) -> str:
        return "sub-test"


def _append(store: EventStore, *ns: int) -> list[LoggedEvent]:
    return store.append([NewEvent(SubTicked(n), n) for n in ns])


class Recorder:
    """A subscriber keeping its position in memory, recording every batch it is given."""

    def __init__(self, name: str = "rec", start: int = 0) -> None:
        self.name = name
        self._pos = start
        self.batches: list[list[int]] = []

    def position(self) -> int:
        return self._pos

    def handle(self, batch: Sequence[LoggedEvent]) -> None:
        self.batches.append([ev.seq for ev in batch])
        self._pos = batch[-1].seq

    @property
    def seen(self) -> list[int]:
        return [s for b in self.batches for s in b]


def test_recorder_is_a_subscriber() -> None:
    """Anything with a name, position() and handle() satisfies the port."""
    assert isinstance(Recorder(), Subscriber)


def test_poll_delivers_from_position_in_batches() -> None:
    """Polling reads after the position in batches no larger than max_batch."""
    store = open_log("memory://", FixedClock(1))
    _append(store, *range(1, 8))
    rec = Recorder(start=2)
    sub = Subscription(store, rec, max_batch=2)
    assert sub.poll() == 5
    assert rec.batches == [[3, 4], [5, 6], [7]]
    assert sub.poll() == 0


def test_deliver_uses_the_appended_entries_and_fills_gaps() -> None:
    """The sequencer's notify hands entries over directly; a gap before them is read from the log."""
    store = open_log("memory://", FixedClock(1))
    rec = Recorder()
    sub = Subscription(store, rec)
    sub.deliver(_append(store, 1, 2))
    _append(store, 3)  # appended without notifying this subscriber
    sub.deliver(_append(store, 4))
    sub.deliver(list(store.read(2, 4)))  # a repeat of what it already has
    assert rec.seen == [1, 2, 3, 4]


def test_handle_failure_resumes_from_position() -> None:
    """A subscriber that raises keeps its position; the next delivery starts there again."""
    store = open_log("memory://", FixedClock(1))
    _append(store, 1, 2, 3)

    class Flaky(Recorder):
        fail = True

        def handle(self, batch: Sequence[LoggedEvent]) -> None:
            if self.fail and batch[0].seq == 2:
                raise RuntimeError("disk full")
            super().handle(batch)

    rec = Flaky()
    sub = Subscription(store, rec, max_batch=1)
    with pytest.raises(RuntimeError):
        sub.poll()
    assert rec.seen == [1]
    rec.fail = False
    sub.poll()
    assert rec.seen == [1, 2, 3]


def test_sqlite_positions_resume_after_restart(tmp_path: Path) -> None:
    """A tracked subscriber over a SQLite position file resumes where it stopped."""
    log = open_log(tmp_path / "day.db", FixedClock(1))
    _append(log, 1, 2, 3)
    got: list[int] = []
    positions = SQLitePositions(tmp_path / "pos.db")
    sub = Subscription(log, Tracked("archive", lambda b: got.extend(e.seq for e in b), positions))
    sub.poll()
    positions.close()
    _append(log, 4, 5)
    positions = SQLitePositions(tmp_path / "pos.db")
    tracked = Tracked("archive", lambda b: got.extend(e.seq for e in b), positions)
    assert tracked.position() == 3
    Subscription(log, tracked).poll()
    assert got == [1, 2, 3, 4, 5]
    positions.close()
    log.close()


def test_sqlite_transaction_commits_effects_with_position(tmp_path: Path) -> None:
    """Effects and the tracking record commit together, or neither does."""
    positions = SQLitePositions(tmp_path / "pos.db")
    positions.conn.execute("CREATE TABLE seen (seq INTEGER)")
    with pytest.raises(RuntimeError), positions.transaction() as conn:
        conn.execute("INSERT INTO seen VALUES (1)")
        positions.save("p", 1)
        raise RuntimeError("crash before commit")
    assert positions.load("p") == 0
    assert positions.conn.execute("SELECT count(*) FROM seen").fetchone()[0] == 0
    with positions.transaction() as conn:
        conn.execute("INSERT INTO seen VALUES (1)")
        positions.save("p", 1)
    assert positions.load("p") == 1
    positions.close()


def test_follow_tails_appends_from_another_writer(tmp_path: Path) -> None:
    """A follower polling a SQLite log sees entries appended by a separate store object."""
    writer = open_log(tmp_path / "day.db", FixedClock(1))
    reader = open_log(tmp_path / "day.db", FixedClock(1), create=False)
    rec = Recorder()
    sub = Subscription(reader, rec)
    stop = threading.Event()
    t = threading.Thread(target=sub.follow, args=(stop,), kwargs={"poll_interval": 0.01})
    t.start()
    try:
        _append(writer, 1, 2)
        _append(writer, 3)
        for _ in range(500):
            if rec.position() == 3:
                break
            stop.wait(0.01)
    finally:
        stop.set()
        t.join()
    assert rec.seen == [1, 2, 3]
    writer.close()
    reader.close()


@settings(max_examples=50, deadline=None)
@given(
    appends=st.lists(st.integers(1, 5), min_size=1, max_size=12),
    notified=st.lists(st.booleans(), min_size=12, max_size=12),
    restarts=st.lists(st.booleans(), min_size=12, max_size=12),
    max_batch=st.integers(1, 4),
)
def test_any_mix_of_notify_poll_and_restart_is_exactly_once(
    appends: list[int], notified: list[bool], restarts: list[bool], max_batch: int
) -> None:
    """Whatever mix of notified appends, silent appends, polls and restarts, every entry is
    processed once, in order, and batches respect max_batch (S1-S3)."""
    store = open_log("memory://", FixedClock(1))
    positions = MemoryPositions()
    got: list[int] = []
    sizes: list[int] = []

    def fn(batch: Sequence[LoggedEvent]) -> None:
        sizes.append(len(batch))
        got.extend(ev.seq for ev in batch)

    sub = Subscription(store, Tracked("t", fn, positions), max_batch=max_batch)
    n = 0
    for i, k in enumerate(appends):
        logged = _append(store, *range(n + 1, n + k + 1))
        n += k
        if restarts[i]:
            sub = Subscription(store, Tracked("t", fn, positions), max_batch=max_batch)
        if notified[i]:
            sub.deliver(logged)
    sub.poll()
    assert got == list(range(1, n + 1))
    assert all(1 <= s <= max_batch for s in sizes)
