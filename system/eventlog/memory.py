"""In-memory EventStore: for fast scenarios and tests. Keeps the same bytes and hashes as SQLite."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator, Mapping, Sequence

from system.clock import Clock
from system.eventlog.batch import chain, check_expected
from system.eventlog.codec import GENESIS_HASH, LoggedEvent, body_decoder, decode_entry
from system.eventlog.store import (
    NO_STREAM,
    EventStore,
    Head,
    NewEvent,
    RawEntry,
    Snapshot,
    replay_checked,
)


class MemoryEventStore(EventStore):
    def __init__(self, clock: Clock, url: str = "memory://") -> None:
        super().__init__()
        self.url = url
        self.clock = clock
        self._lock = threading.Lock()
        # Only the canonical bodies and the 32-byte hashes are kept (one bytearray, no object per
        # hash): readers get entries decoded on demand, so a million commands hold ~300 MB, not
        # the 2.6 GB that a kept LoggedEvent and record per entry cost.
        self._bodies: list[bytes] = []
        self._hashes = bytearray()
        # Set only by the tamper hook: then read_raw serves these instead of what was appended.
        self._tampered: list[RawEntry] | None = None
        self._versions: dict[str, int] = {}  # stream -> its last entry's version
        self._last = GENESIS_HASH  # the head's hash
        self._snapshots: dict[str, dict[int, Snapshot]] = {}

    def append(
        self, batch: Sequence[NewEvent], expected: Mapping[str, int] | None = None
    ) -> list[LoggedEvent]:
        if not batch:
            return []
        with self._lock:
            if expected:
                check_expected(expected, self.stream_version)
            bodies = self._bodies
            # chain() raises before anything is stored if a record cannot be encoded (I3).
            logged, new, versions = chain(
                batch, len(bodies), self._last, self.stream_version, self.clock.now_ns()
            )
            self._hashes += b"".join([ev.hash for ev in logged])
            self._versions.update(versions)
            self._last = logged[-1].hash
            # The bodies last, in one C-level extend: a reader on another thread counts entries by
            # them, so it sees all of the batch or none of it.
            bodies.extend(new)
        if self._waiting:
            self._notify()
        return logged

    def _entry(self, i: int) -> LoggedEvent:
        """Entry ``i`` (0-based) decoded from its stored body."""
        hashes = self._hashes
        prev = bytes(hashes[32 * i - 32 : 32 * i]) if i else GENESIS_HASH
        return decode_entry(self._bodies[i], prev, bytes(hashes[32 * i : 32 * i + 32]))

    def read(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[LoggedEvent]:
        n = len(self._bodies)
        stop = n if to_seq is None else min(to_seq, n)
        entry = self._entry
        for i in range(max(from_seq, 1) - 1, stop):
            yield entry(i)

    def read_stream(self, stream: str, from_version: int = 1) -> Iterator[LoggedEvent]:
        # A scan, as SQLite without its optional index does: no per-entry stream index is kept on
        # the append path for a read nothing on the command path makes.
        for ev in self.read(1):
            if ev.stream == stream and ev.stream_version >= from_version:
                yield ev

    def read_until(self, valid_time: int, from_seq: int = 1) -> Iterator[LoggedEvent]:
        for ev in self.read(from_seq):
            if ev.valid_time <= valid_time:
                yield ev

    def replay(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[LoggedEvent]:
        if self._tampered is not None:
            return super().replay(from_seq, to_seq)
        bodies, hashes = self._bodies, self._hashes
        n = len(bodies)
        start = max(from_seq, 1)
        stop = n if to_seq is None else min(to_seq, n)
        prev = bytes(hashes[32 * start - 64 : 32 * start - 32]) if 1 < start <= n + 1 else GENESIS_HASH
        rows = ((bodies[i], bytes(hashes[32 * i : 32 * i + 32])) for i in range(start - 1, stop))
        return replay_checked(rows, prev, start)

    def read_raw(self, from_seq: int = 1) -> Iterator[RawEntry]:
        if self._tampered is not None:
            yield from self._tampered[max(from_seq, 1) - 1 :]
            return
        decode = body_decoder.decode
        bodies, hashes = self._bodies, self._hashes
        for i in range(max(from_seq, 1) - 1, len(bodies)):
            body = bodies[i]
            b = decode(body)
            yield RawEntry(
                b.seq, b.stream, b.stream_version, b.type, b.valid_time, b.recorded_time, body,
                bytes(hashes[32 * i : 32 * i + 32]),
            )  # fmt: skip

    def head(self) -> Head:
        n = len(self._bodies)
        if not n:
            return Head(0, GENESIS_HASH)
        return Head(n, bytes(self._hashes[32 * n - 32 : 32 * n]))

    def stream_version(self, stream: str) -> int:
        return self._versions.get(stream, NO_STREAM)

    def save_snapshot(self, snapshot: Snapshot) -> None:
        with self._lock:
            self._snapshots.setdefault(snapshot.name, {})[snapshot.seq] = snapshot

    def load_snapshot(self, name: str, at_or_before: int | None = None) -> Snapshot | None:
        seqs = self.list_snapshots(name)
        if not seqs:
            return None
        i = len(seqs) if at_or_before is None else bisect.bisect_right(seqs, at_or_before)
        return self._snapshots[name][seqs[i - 1]] if i else None

    def list_snapshots(self, name: str) -> list[int]:
        return sorted(self._snapshots.get(name, {}))

    # Test hook: lets the tamper tests rewrite stored bytes as an attacker would. ``verify`` and
    # ``replay`` read what is set here; ``read`` keeps serving the decoded entries.
    def _replace_raw(self, entries: list[RawEntry]) -> None:
        self._tampered = list(entries)

    @property
    def _raw(self) -> list[RawEntry]:
        """The stored entries undecoded (what the first release kept as a list)."""
        return list(self.read_raw(1))
