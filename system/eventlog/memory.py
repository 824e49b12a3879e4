"""In-memory EventStore: for fast scenarios and tests. Keeps the same bytes and hashes as SQLite."""

from __future__ import annotations

import bisect
import hashlib
import threading
from array import array
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence

from system.clock import Clock
from system.eventlog.batch import check_expected
from system.eventlog.codec import GENESIS_HASH, LoggedEvent, body_decoder, body_encoder, decode_entry
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
        # Only the canonical bodies and the 32-byte hashes are kept. The bodies of one append are
        # one bytes block (a bytes object per body cost ~50 bytes of header and allocator rounding
        # beside its ~260 bytes; one growing bytearray instead made realloc copy the whole buffer
        # every eighth of growth). Entry i's body ends at offset _ends[i] of the concatenated
        # blocks; block k starts at _starts[k]. The hashes are one bytearray (32 bytes an entry).
        # Readers get entries decoded on demand.
        self._blocks: list[bytes] = []
        self._starts = array("q")
        self._ends = array("q")
        self._hashes = bytearray()
        # Set only by the tamper hook: then read_raw serves these instead of what was appended.
        self._tampered: list[RawEntry] | None = None
        # stream -> its last entry's version; a missing stream reads 0 (NO_STREAM) through a C-level
        # __getitem__, which chain() calls once per entry.
        self._versions: defaultdict[str, int] = defaultdict(int)
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
            # batch.chain()'s loop fused with the store's bookkeeping (one pass, no callback per
            # entry): the same bodies and hashes, so the log is byte-identical to every backend's.
            hashes = self._hashes
            stored = self._versions
            recorded = self.clock.now_ns()
            encode = body_encoder.encode
            sha256 = hashlib.sha256
            logged: list[LoggedEvent] = []
            add_logged = logged.append
            new: list[bytes] = []
            add_body = new.append
            ends: list[int] = []
            add_end = ends.append
            ends_all = self._ends
            start = end = ends_all[-1] if ends_all else 0
            versions: dict[str, int] = {}
            get_version = versions.get
            seq = len(ends_all)
            prev = self._last
            mark = len(hashes)
            try:
                for ne in batch:
                    seq += 1
                    rec = ne.record
                    stream = ne.stream
                    if stream is None:
                        stream = rec.stream()
                    v = get_version(stream)
                    v = (stored[stream] if v is None else v) + 1
                    versions[stream] = v
                    name = rec.name
                    schema = rec.version
                    vt = ne.valid_time
                    corr = ne.correlation_id
                    caus = ne.causation_id
                    body = encode([seq, stream, v, name, schema, vt, recorded, corr, caus, rec])
                    h = sha256(prev + body).digest()
                    hashes += h
                    add_body(body)
                    end += len(body)
                    add_end(end)
                    add_logged(
                        LoggedEvent(seq, stream, v, name, schema, vt, recorded, corr, caus, rec, prev, h)
                    )
                    prev = h
            except BaseException:
                # A record that cannot be encoded: nothing of the batch is stored (I3).
                del hashes[mark:]
                raise
            stored.update(versions)
            self._last = prev
            self._starts.append(start)
            self._blocks.append(b"".join(new))
            # The ends last, in one C-level extend: a reader on another thread counts entries by
            # them, so it sees all of the batch or none of it.
            ends_all.extend(ends)
        if self._waiting:
            self._notify()
        return logged

    def _body(self, i: int) -> bytes:
        """Entry ``i``'s (0-based) canonical body, copied out of the buffer."""
        ends = self._ends
        start = ends[i - 1] if i else 0
        k = bisect.bisect_right(self._starts, start) - 1
        off = start - self._starts[k]
        return self._blocks[k][off : off + ends[i] - start]

    def _entry(self, i: int) -> LoggedEvent:
        """Entry ``i`` (0-based) decoded from its stored body."""
        hashes = self._hashes
        prev = bytes(hashes[32 * i - 32 : 32 * i]) if i else GENESIS_HASH
        return decode_entry(self._body(i), prev, bytes(hashes[32 * i : 32 * i + 32]))

    def read(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[LoggedEvent]:
        n = len(self._ends)
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
        body, hashes = self._body, self._hashes
        n = len(self._ends)
        start = max(from_seq, 1)
        stop = n if to_seq is None else min(to_seq, n)
        prev = bytes(hashes[32 * start - 64 : 32 * start - 32]) if 1 < start <= n + 1 else GENESIS_HASH
        rows = ((body(i), bytes(hashes[32 * i : 32 * i + 32])) for i in range(start - 1, stop))
        return replay_checked(rows, prev, start)

    def read_raw(self, from_seq: int = 1) -> Iterator[RawEntry]:
        if self._tampered is not None:
            yield from self._tampered[max(from_seq, 1) - 1 :]
            return
        decode = body_decoder.decode
        hashes = self._hashes
        for i in range(max(from_seq, 1) - 1, len(self._ends)):
            body = self._body(i)
            b = decode(body)
            yield RawEntry(
                b.seq, b.stream, b.stream_version, b.type, b.valid_time, b.recorded_time, body,
                bytes(hashes[32 * i : 32 * i + 32]),
            )  # fmt: skip

    def head(self) -> Head:
        n = len(self._ends)
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
