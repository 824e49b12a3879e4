"""The subscription seam: followers of the log that resume from their own position.

Everything that reacts to the log off the command path (FIX session routing, drop copy, market
data feeds, REST streams, the PostgreSQL archive, the NATS fan-out) is a ``Subscriber``:

- it has a **position**: the seq of the last entry it has fully processed (0 before the first);
- it gets entries **in batches** (``Sequence[LoggedEvent]``), gapless and in seq order, starting at
  ``position + 1``;
- it **stores its own position**, atomically with its own effects ("tracking record", as in the
  ``eventsourcing`` library's process applications). After a restart it reports the stored
  position and delivery resumes right after it, so nothing is applied twice and nothing is skipped.

A ``Subscription`` pairs one subscriber with one log. It is driven two ways, which can be mixed:

- ``deliver(logged)``: the sequencer hands over what it just appended (no read back from the store
  when the batch continues the subscriber's position; a gap is filled from the store first);
- ``poll()``: read whatever the log holds after the position, for a follower in another process
  (``follow()`` loops on it until told to stop).

Contract (tests/unit/test_subscription.py proves each point):

S1  Order. ``handle`` receives each entry at most once per subscriber lifetime, in seq order,
    without gaps, the first one being ``position() + 1``.
S2  Batching. A batch holds at most ``max_batch`` entries and is never empty.
S3  Resume. Delivery starts after whatever ``position()`` returns, so a subscriber that stores its
    position with its effects resumes exactly once after a restart.
S4  Failure. If ``handle`` raises, the subscription stops delivering that batch and re-raises; the
    next call starts again from ``position()``, so the subscriber decides what was kept.

Not guaranteed: delivery while the sequencer is mid-append (a subscriber sees whole appends only),
or any ordering between two different subscribers.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, runtime_checkable

from system.eventlog.codec import LoggedEvent
from system.eventlog.store import EventStore

__all__ = [
    "MemoryPositions",
    "PositionStore",
    "SQLitePositions",
    "Subscriber",
    "Subscription",
    "Tracked",
]


@runtime_checkable
class Subscriber(Protocol):
    """Something that follows the log from a position it keeps itself."""

    name: str

    def position(self) -> int:
        """The seq of the last entry this subscriber has processed (0 before any)."""
        ...

    def handle(self, batch: Sequence[LoggedEvent]) -> None:
        """Process ``batch`` (gapless, starting at ``position() + 1``) and advance the position to
        ``batch[-1].seq``, storing it with the effects of the batch in one step."""
        ...


class PositionStore(Protocol):
    """Where subscribers keep their positions, by subscriber name."""

    def load(self, name: str) -> int:
        """The stored position of ``name``, 0 if it never stored one."""
        ...

    def save(self, name: str, seq: int) -> None:
        """Store ``seq`` as the position of ``name`` (durably, for a persistent store)."""
        ...


class MemoryPositions:
    """Positions that live as long as the process: for tests and in-process read models."""

    def __init__(self) -> None:
        self._pos: dict[str, int] = {}

    def load(self, name: str) -> int:
        return self._pos.get(name, 0)

    def save(self, name: str, seq: int) -> None:
        self._pos[name] = seq


class SQLitePositions:
    """Positions in a SQLite file, one row per subscriber.

    A subscriber whose own effects also live in this file writes them and its position in one
    transaction with ``transaction()``: the tracking record and the effects commit together.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        # check_same_thread=False: a follower thread may own the writes; the lock serialises them.
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS chronex_positions (name TEXT PRIMARY KEY, seq INTEGER NOT NULL)"
        )
        self._lock = threading.RLock()
        self._in_tx = False

    def load(self, name: str) -> int:
        with self._lock:
            row = self.conn.execute(
                "SELECT seq FROM chronex_positions WHERE name = ?", (name,)
            ).fetchone()
        return int(row[0]) if row else 0

    def save(self, name: str, seq: int) -> None:
        with self._lock:
            if self._in_tx:
                self._upsert(name, seq)
                return
            with self.transaction():
                self._upsert(name, seq)

    def _upsert(self, name: str, seq: int) -> None:
        self.conn.execute(
            "INSERT INTO chronex_positions (name, seq) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET seq = excluded.seq",
            (name, seq),
        )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: effects written on the yielded connection and any ``save``
        inside commit together, or neither does."""
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            self._in_tx = True
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
            finally:
                self._in_tx = False

    def close(self) -> None:
        self.conn.close()


class Subscription:
    """One subscriber following one log, fed by the sequencer, by polling, or both."""

    def __init__(self, store: EventStore, subscriber: Subscriber, *, max_batch: int = 1000) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.store = store
        self.subscriber = subscriber
        self.max_batch = max_batch
        # One delivery at a time: the sequencer's notify and a follower thread may both call in.
        self._lock = threading.Lock()

    def deliver(self, logged: Sequence[LoggedEvent]) -> int:
        """Hand over entries just appended; fills any gap before them from the store first.

        Returns how many entries the subscriber was given. Entries at or before its position are
        dropped (already processed).
        """
        with self._lock:
            if not logged:
                return 0
            n = 0
            pos = self.subscriber.position()
            if logged[0].seq > pos + 1:
                n += self._read_into(logged[0].seq - 1)
                pos = self.subscriber.position()
            fresh = logged if logged[0].seq == pos + 1 else [ev for ev in logged if ev.seq > pos]
            step = self.max_batch
            for i in range(0, len(fresh), step):
                chunk = fresh[i : i + step]
                self.subscriber.handle(chunk)
                n += len(chunk)
            return n

    def poll(self) -> int:
        """Deliver whatever the log holds after the subscriber's position; returns the count."""
        with self._lock:
            return self._read_into(None)

    def _read_into(self, to_seq: int | None) -> int:
        n = 0
        batch: list[LoggedEvent] = []
        for ev in self.store.read(self.subscriber.position() + 1, to_seq):
            batch.append(ev)
            if len(batch) >= self.max_batch:
                self.subscriber.handle(batch)
                n += len(batch)
                batch = []
        if batch:
            self.subscriber.handle(batch)
            n += len(batch)
        return n

    def follow(
        self,
        stop: threading.Event,
        *,
        poll_interval: float = 0.05,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        """Poll until ``stop`` is set: a follower in another process tails the log this way.
        Sleeps ``poll_interval`` seconds (on ``stop``, so setting it ends the wait) when idle."""
        while not stop.is_set():
            if self.poll() == 0:
                if on_idle is not None:
                    on_idle()
                stop.wait(poll_interval)


class Tracked:
    """A subscriber built from a function and a ``PositionStore``: ``fn(batch)`` runs, then the
    position is saved. For effects outside the position store this is at-least-once (a crash
    between the two repeats the batch); keep effects idempotent or write them through
    ``SQLitePositions.transaction`` for exactly-once."""

    def __init__(
        self, name: str, fn: Callable[[Sequence[LoggedEvent]], None], positions: PositionStore
    ) -> None:
        self.name = name
        self._fn = fn
        self._positions = positions
        self._pos = positions.load(name)

    def position(self) -> int:
        return self._pos

    def handle(self, batch: Sequence[LoggedEvent]) -> None:
        self._fn(batch)
        self._pos = batch[-1].seq
        self._positions.save(self.name, self._pos)
