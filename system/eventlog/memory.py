"""In-memory EventStore: for fast scenarios and tests. Keeps the same bytes and hashes as SQLite."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator, Mapping, Sequence

from system.clock import Clock
from system.eventlog.batch import chain, check_expected, raw_of
from system.eventlog.codec import GENESIS_HASH, LoggedEvent
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
        self._logged: list[LoggedEvent] = []
        self._bodies: list[bytes] = []
        # Set only by the tamper hook: then read_raw serves these instead of what was appended.
        self._tampered: list[RawEntry] | None = None
        self._streams: dict[str, list[int]] = {}  # stream -> seqs in version order
        self._snapshots: dict[str, dict[int, Snapshot]] = {}

    def append(
        self, batch: Sequence[NewEvent], expected: Mapping[str, int] | None = None
    ) -> list[LoggedEvent]:
        if not batch:
            return []
        with self._lock:
            check_expected(expected, self.stream_version)
            n = len(self._logged)
            prev = self._logged[-1].hash if n else GENESIS_HASH
            # chain() raises before anything is stored if a record cannot be encoded (I3).
            logged, bodies, _ = chain(batch, n, prev, self.stream_version, self.clock.now_ns())
            self._bodies.extend(bodies)
            # One C-level extend: a reader on another thread sees all of the batch or none of it.
            self._logged.extend(logged)
            streams = self._streams
            for ev in logged:
                seqs = streams.get(ev.stream)
                if seqs is None:
                    streams[ev.stream] = [ev.seq]
                else:
                    seqs.append(ev.seq)
        self._notify()
        return logged

    def read(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[LoggedEvent]:
        logged = self._logged
        stop = len(logged) if to_seq is None else min(to_seq, len(logged))
        for i in range(max(from_seq, 1) - 1, stop):
            yield logged[i]

    def read_stream(self, stream: str, from_version: int = 1) -> Iterator[LoggedEvent]:
        seqs = list(self._streams.get(stream, ()))
        for s in seqs[max(from_version, 1) - 1 :]:
            yield self._logged[s - 1]

    def read_until(self, valid_time: int, from_seq: int = 1) -> Iterator[LoggedEvent]:
        for ev in self.read(from_seq):
            if ev.valid_time <= valid_time:
                yield ev

    def replay(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[LoggedEvent]:
        if self._tampered is not None:
            return super().replay(from_seq, to_seq)
        logged, bodies = self._logged, self._bodies
        start = max(from_seq, 1)
        stop = len(logged) if to_seq is None else min(to_seq, len(logged))
        prev = logged[start - 2].hash if 1 < start <= len(logged) + 1 else GENESIS_HASH
        rows = ((bodies[i], logged[i].hash) for i in range(start - 1, stop))
        return replay_checked(rows, prev, start)

    def read_raw(self, from_seq: int = 1) -> Iterator[RawEntry]:
        if self._tampered is not None:
            yield from self._tampered[max(from_seq, 1) - 1 :]
            return
        logged, bodies = self._logged, self._bodies
        for i in range(max(from_seq, 1) - 1, len(logged)):
            yield raw_of(logged[i], bodies[i])

    def head(self) -> Head:
        logged = self._logged
        if not logged:
            return Head(0, GENESIS_HASH)
        last = logged[-1]
        return Head(last.seq, last.hash)

    def stream_version(self, stream: str) -> int:
        seqs = self._streams.get(stream)
        return len(seqs) if seqs else NO_STREAM

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
