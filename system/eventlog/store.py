"""The EventStore port: the contract every backend (memory, SQLite, later PostgreSQL and NATS) keeps.

Invariants (each proved by tests/integration/store/, run against every backend):

I1  Global order. ``seq`` starts at 1 and is gapless; insert order equals commit order, so a tailing
    reader never skips an entry committed after one it has already seen.
I2  Streams. Within a stream, ``stream_version`` starts at 1 and is gapless; (stream, version) is unique.
I3  Atomic batches. ``append`` writes all of a batch or none of it.
I4  Optimistic concurrency. An expected version that does not match raises ``WrongExpectedVersion``
    and writes nothing.
I5  Durability. Once ``append`` returns, the batch survives the death of the process (kill -9).
    SQLite: WAL with synchronous=NORMAL, so a power cut may lose the last commits; see docs/eventlog.md.
I6  Integrity. Each entry carries ``hash = sha256(prev_hash || canonical body)``; ``verify`` walks it.
I7  Time. ``recorded_time`` is read from the store's clock when the batch is appended; ``valid_time``
    is the caller's.
"""

from __future__ import annotations

import abc
import hashlib
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import msgspec

from system.clock import Clock
from system.eventlog.codec import GENESIS_HASH, LoggedEvent, body_decoder, decode_record
from system.eventlog.records import Record

ANY = -1
"""Expected version meaning: do not check."""
NO_STREAM = 0
"""Expected version meaning: the stream must not exist yet."""


class EventLogError(Exception):
    """Base of every error the log raises on purpose."""


class WrongExpectedVersion(EventLogError):
    """An append's expected stream version did not match; nothing was written."""

    def __init__(self, stream: str, expected: int, actual: int) -> None:
        super().__init__(f"stream {stream!r}: expected version {expected}, found {actual}")
        self.stream = stream
        self.expected = expected
        self.actual = actual


class LogCorrupted(EventLogError):
    """A replay found an entry whose hash does not match its body and its predecessor."""

    def __init__(self, seq: int, problem: str) -> None:
        super().__init__(f"log corrupted at seq {seq}: {problem}")
        self.seq = seq
        self.problem = problem


class NotAnEventLog(EventLogError):
    """The path or URL does not name a Chronex event log."""


class LogDamaged(NotAnEventLog):
    """The file's storage is damaged (cut short or corrupt): what it holds cannot be read, so its
    chain cannot be checked past that point. ``log verify`` reports it as a failed verdict."""

    def __init__(self, where: str, detail: str) -> None:
        super().__init__(f"{where}: {detail}")
        self.detail = detail


class UnsupportedLogURL(EventLogError):
    """The URL's scheme names no backend this installation has."""


class LogLocked(EventLogError):
    """Another writer holds the log (a log has one writer at a time); the message names it."""


class NewEvent(msgspec.Struct, frozen=True, gc=False):
    """A record to append, with the business time it is about and its lineage.

    A msgspec Struct rather than a frozen dataclass: the runtime builds one per entry on the
    command path, and a C constructor costs a tenth of ``object.__setattr__`` per field. Untracked
    by the cycle collector: it holds a frozen record and scalars.
    """

    record: Record
    valid_time: int
    correlation_id: str = ""
    causation_id: str = ""
    stream: str | None = None  # defaults to record.stream()


class Head(msgspec.Struct, frozen=True, gc=False):
    """The last entry's seq and hash. A Struct: SQLite's append makes one per commit."""

    seq: int
    hash: bytes


@dataclass(frozen=True, slots=True)
class RawEntry:
    """A stored entry before decoding, as ``verify`` reads it."""

    seq: int
    stream: str
    stream_version: int
    type: str
    valid_time: int
    recorded_time: int
    body: bytes
    hash: bytes


@dataclass(frozen=True, slots=True)
class Snapshot:
    name: str
    seq: int
    state: bytes
    state_hash: bytes


class EventStore(abc.ABC):
    """An append-only, hash-chained log of records."""

    url: str
    clock: Clock

    def __init__(self) -> None:
        self._appended = threading.Condition()
        self._waiting = 0  # subscribers blocked in wait(): appends skip the lock when it is 0

    # -- writing -------------------------------------------------------------------------------
    @abc.abstractmethod
    def append(
        self, batch: Sequence[NewEvent], expected: Mapping[str, int] | None = None
    ) -> list[LoggedEvent]:
        """Append ``batch`` atomically and return the entries as stored (seq, versions, hashes).

        ``expected`` maps a stream to the version its last entry must have now (``NO_STREAM`` for
        none, ``ANY`` to skip). A mismatch raises ``WrongExpectedVersion`` and writes nothing.
        """

    # -- reading -------------------------------------------------------------------------------
    @abc.abstractmethod
    def read(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[LoggedEvent]:
        """Entries with ``from_seq <= seq <= to_seq`` in seq order."""

    @abc.abstractmethod
    def read_stream(self, stream: str, from_version: int = 1) -> Iterator[LoggedEvent]:
        """One stream's entries in version order."""

    @abc.abstractmethod
    def read_until(self, valid_time: int, from_seq: int = 1) -> Iterator[LoggedEvent]:
        """Entries whose ``valid_time <= valid_time``, in seq order (late entries included)."""

    @abc.abstractmethod
    def read_raw(self, from_seq: int = 1) -> Iterator[RawEntry]:
        """Stored entries undecoded, in seq order: what ``verify`` checks."""

    def replay(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[LoggedEvent]:
        """Like ``read``, but every entry's hash is recomputed from its stored body and its
        predecessor's hash before it is decoded: a full replay that proves what it folds.

        Raises ``LogCorrupted`` at the first entry that does not chain (altered, missing, moved).
        """
        start = max(from_seq, 1)
        prev = GENESIS_HASH
        raws = self.read_raw(start - 1 if start > 1 else 1)
        if start > 1:
            first = next(raws, None)
            if first is None:
                return
            prev = first.hash
        stop = to_seq if to_seq is not None else 1 << 62
        yield from replay_checked(((r.body, r.hash) for r in raws if r.seq <= stop), prev, start)

    @abc.abstractmethod
    def head(self) -> Head:
        """The last entry's seq and hash (``Head(0, GENESIS_HASH)`` when empty)."""

    @abc.abstractmethod
    def stream_version(self, stream: str) -> int:
        """The version of the stream's last entry, ``NO_STREAM`` if it has none."""

    def count(self) -> int:
        return self.head().seq

    # -- following -----------------------------------------------------------------------------
    def subscribe(
        self, from_seq: int = 1, *, poll_interval: float = 0.05, stop: threading.Event | None = None
    ) -> Iterator[LoggedEvent]:
        """Yield every entry from ``from_seq`` on: first what is stored, then each new append.

        The iterator ends when ``stop`` is set. Appends made through this store object wake it at
        once; appends from other processes are seen within ``poll_interval`` seconds.
        """
        nxt = from_seq
        while stop is None or not stop.is_set():
            got = False
            for ev in self.read(nxt):
                yield ev
                nxt = ev.seq + 1
                got = True
            if not got:
                with self._appended:
                    # Counted before the head is read: an append that lands after this check
                    # sees the count and notifies, so the wake-up is never lost.
                    self._waiting += 1
                    try:
                        if self.head().seq < nxt:
                            self._appended.wait(poll_interval)
                    finally:
                        self._waiting -= 1

    def _notify(self) -> None:
        # Taking the condition's lock costs about a microsecond per append; with nobody waiting
        # (the command path's usual case) there is no one to wake.
        if self._waiting:
            with self._appended:
                self._appended.notify_all()

    # -- snapshots -----------------------------------------------------------------------------
    @abc.abstractmethod
    def save_snapshot(self, snapshot: Snapshot) -> None:
        """Store a state snapshot taken at ``snapshot.seq`` (replacing one of the same name and seq)."""

    @abc.abstractmethod
    def load_snapshot(self, name: str, at_or_before: int | None = None) -> Snapshot | None:
        """The latest snapshot of ``name`` whose seq is at or before ``at_or_before``."""

    @abc.abstractmethod
    def list_snapshots(self, name: str) -> list[int]:
        """The seqs at which ``name`` has snapshots, ascending."""

    # -- lifetime ------------------------------------------------------------------------------
    def close(self) -> None:  # noqa: B027 - optional for backends holding nothing
        """Release connections. The memory backend has nothing to release."""

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def replay_checked(rows: Iterable[tuple[bytes, bytes]], prev: bytes, first_seq: int) -> Iterator[LoggedEvent]:
    """Check each ``(body, hash)`` against the chain, then decode it: the hot loop of a replay."""
    sha256 = hashlib.sha256
    decode_body = body_decoder.decode
    seq = first_seq
    for body, h in rows:
        if sha256(prev + body).digest() != h:
            raise LogCorrupted(seq, "sha256(prev_hash || body) does not match the stored hash")
        b = decode_body(body)
        if b.seq != seq:
            raise LogCorrupted(seq, f"the entry stored here says it is seq {b.seq}")
        yield LoggedEvent(
            seq,
            b.stream,
            b.stream_version,
            b.type,
            b.schema_version,
            b.valid_time,
            b.recorded_time,
            b.correlation_id,
            b.causation_id,
            decode_record(b.type, b.payload, b.schema_version),
            prev,
            h,
        )
        prev = h
        seq += 1
