"""In-memory EventStore: for fast scenarios and tests. Keeps the same bytes and hashes as SQLite.

The bodies of older entries are kept zstd-compressed: every ``CHUNK`` bytes of appends are joined
and compressed by a thread of the store's own (zstandard releases the GIL, so this runs on another
core), and replace the appends' blocks. A body is ~260 bytes of msgpack whose field names repeat
in every entry, so a chunk shrinks about tenfold: a million commands (2.3 million entries) hold
~60 MB of bodies instead of ~590 MB. A reader of a compressed chunk inflates it once (the last
one read is kept); what it reads is byte for byte what was appended.
"""

from __future__ import annotations

import bisect
import queue
import threading
import weakref
from array import array
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence

import zstandard

from system.clock import Clock
from system.eventlog.batch import chain_joined, check_expected
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

CHUNK = 2 << 20  # bytes of bodies compressed together (~8,000 entries; ~1 ms to inflate)


class _Frame:
    """Appends' blocks compressed together: bodies from offset ``start``, ``size`` bytes."""

    __slots__ = ("data", "size", "start")

    def __init__(self, start: int, size: int, data: bytes) -> None:
        self.start = start
        self.size = size
        self.data = data


class _Compressor:
    """The thread that compresses full chunks of a store's blocks and swaps the frames in."""

    def __init__(self, store: MemoryEventStore) -> None:
        # A weak reference, and a finalizer that ends the thread: a store dropped without
        # close() is freed with its bodies, as one without a compressor is.
        self._store = weakref.ref(store)
        self._jobs: queue.Queue[tuple[int, int] | None] = queue.Queue()
        weakref.finalize(store, self._jobs.put, None)
        self._thread = threading.Thread(target=self._run, name="chronex-memlog-zstd", daemon=True)
        self._thread.start()

    def submit(self, first: int, stop: int) -> None:
        self._jobs.put((first, stop))

    def wait(self) -> None:
        """Until every submitted chunk is compressed (tests, and a reader that wants it settled)."""
        self._jobs.join()

    def _run(self) -> None:
        zc = zstandard.ZstdCompressor(level=1)
        while True:
            job = self._jobs.get()
            store = self._store()
            if job is None or store is None:
                self._jobs.task_done()
                return
            first, stop = job
            blocks = store._blocks
            raw = b"".join(blocks[first:stop])  # type: ignore[arg-type]  # all bytes: not yet swapped
            frame = _Frame(store._starts[first], len(raw), zc.compress(raw))
            # One slice assignment (C, under the GIL): a reader sees every block or every frame.
            blocks[first:stop] = [frame] * (stop - first)
            del store, blocks
            self._jobs.task_done()

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join()


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
        self._blocks: list[bytes | _Frame] = []
        self._starts = array("q")
        # The first block not yet handed to the compressor, the compressor (started at the
        # first full chunk) and the last frame inflated for a reader.
        self._raw_from = 0
        self._compressor: _Compressor | None = None
        self._inflated: tuple[_Frame | None, bytes] = (None, b"")
        self._ends = array("q")
        self._hashes = bytearray()
        # Set only by the tamper hook: then read_raw serves these instead of what was appended.
        self._tampered: list[RawEntry] | None = None
        # stream -> its last entry's version; a missing stream reads 0 (NO_STREAM) through a C-level
        # __getitem__, which chain() calls once per stream of an append.
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
            ends_all = self._ends
            start = ends_all[-1] if ends_all else 0
            # chain_joined: the loop every backend appends through (C when built), giving the
            # bodies and the hashes joined, which is what this store keeps. A record that cannot
            # be encoded raises there, before anything of the batch is stored (I3).
            logged, block, ends, versions, hashes = chain_joined(
                batch, len(ends_all), self._last, self._versions.__getitem__, self.clock.now_ns(), start
            )
            self._versions.update(versions)
            self._hashes += hashes
            self._last = logged[-1].hash
            starts = self._starts
            starts.append(start)
            self._blocks.append(block)
            # The ends last, in one C-level copy: a reader on another thread counts entries by
            # them, so it sees all of the batch or none of it.
            ends_all.frombytes(ends)
            end = ends_all[-1]
            if end - starts[self._raw_from] >= CHUNK:
                self._compress_tail()
        if self._waiting:
            self._notify()
        return logged

    def _compress_tail(self) -> None:
        if self._compressor is None:
            self._compressor = _Compressor(self)
        stop = len(self._blocks)
        self._compressor.submit(self._raw_from, stop)
        self._raw_from = stop

    def settle(self) -> None:
        """Wait until every full chunk is compressed (what ``CHUNK`` says is, is)."""
        if self._compressor is not None:
            self._compressor.wait()

    def _body(self, i: int) -> bytes:
        """Entry ``i``'s (0-based) canonical body, copied out of its block or frame."""
        ends = self._ends
        start = ends[i - 1] if i else 0
        k = bisect.bisect_right(self._starts, start) - 1
        blk = self._blocks[k]
        if type(blk) is bytes:
            off = start - self._starts[k]
            return blk[off : off + ends[i] - start]
        assert isinstance(blk, _Frame)
        frame, raw = self._inflated
        if frame is not blk:
            raw = zstandard.ZstdDecompressor().decompress(blk.data, max_output_size=blk.size)
            self._inflated = (blk, raw)
        off = start - blk.start
        return raw[off : off + ends[i] - start]

    def close(self) -> None:
        compressor, self._compressor = self._compressor, None
        if compressor is not None:
            compressor.close()

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
