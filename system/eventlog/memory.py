"""In-memory EventStore: for fast scenarios and tests. Keeps the same bytes and hashes as SQLite."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator, Mapping, Sequence

from system.clock import Clock
from system.eventlog.batch import check_expected, prepare
from system.eventlog.codec import GENESIS_HASH, LoggedEvent
from system.eventlog.store import (
    NO_STREAM,
    EventStore,
    Head,
    NewEvent,
    RawEntry,
    Snapshot,
)


class MemoryEventStore(EventStore):
    def __init__(self, clock: Clock, url: str = "memory://") -> None:
        super().__init__()
        self.url = url
        self.clock = clock
        self._lock = threading.Lock()
        self._raw: list[RawEntry] = []
        self._logged: list[LoggedEvent] = []
        self._streams: dict[str, list[int]] = {}  # stream -> seqs in version order
        self._snapshots: dict[str, dict[int, Snapshot]] = {}

    def append(
        self, batch: Sequence[NewEvent], expected: Mapping[str, int] | None = None
    ) -> list[LoggedEvent]:
        if not batch:
            return []
        with self._lock:
            check_expected(expected, self.stream_version)
            head = self.head()
            raws, logged, _ = prepare(
                batch, head.seq, head.hash, self.stream_version, self.clock.now_ns()
            )
            self._raw.extend(raws)
            self._logged.extend(logged)
            for ev in logged:
                self._streams.setdefault(ev.stream, []).append(ev.seq)
        self._notify()
        return logged

    def read(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[LoggedEvent]:
        stop = len(self._logged) if to_seq is None else min(to_seq, len(self._logged))
        for i in range(max(from_seq, 1) - 1, stop):
            yield self._logged[i]

    def read_stream(self, stream: str, from_version: int = 1) -> Iterator[LoggedEvent]:
        seqs = self._streams.get(stream, [])
        for s in seqs[max(from_version, 1) - 1 :]:
            yield self._logged[s - 1]

    def read_until(self, valid_time: int, from_seq: int = 1) -> Iterator[LoggedEvent]:
        for ev in self.read(from_seq):
            if ev.valid_time <= valid_time:
                yield ev

    def read_raw(self, from_seq: int = 1) -> Iterator[RawEntry]:
        yield from self._raw[max(from_seq, 1) - 1 :]

    def head(self) -> Head:
        if not self._raw:
            return Head(0, GENESIS_HASH)
        last = self._raw[-1]
        return Head(last.seq, last.hash)

    def stream_version(self, stream: str) -> int:
        seqs = self._streams.get(stream)
        return len(seqs) if seqs else NO_STREAM

    def save_snapshot(self, snapshot: Snapshot) -> None:
        self._snapshots.setdefault(snapshot.name, {})[snapshot.seq] = snapshot

    def load_snapshot(self, name: str, at_or_before: int | None = None) -> Snapshot | None:
        seqs = self.list_snapshots(name)
        if not seqs:
            return None
        i = len(seqs) if at_or_before is None else bisect.bisect_right(seqs, at_or_before)
        return self._snapshots[name][seqs[i - 1]] if i else None

    def list_snapshots(self, name: str) -> list[int]:
        return sorted(self._snapshots.get(name, {}))

    # Test hook: lets the tamper tests rewrite stored bytes as an attacker would.
    def _replace_raw(self, entries: list[RawEntry]) -> None:
        self._raw = list(entries)
