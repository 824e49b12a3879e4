"""SQLite EventStore: one file, WAL journal, the embedded default.

Durability: ``synchronous=NORMAL`` in WAL mode. A committed append is in the WAL before ``append``
returns, so killing the process loses nothing; a power cut or OS crash may lose the most recent
commits (never corrupt older ones). ``durability="full"`` fsyncs every commit for power-loss safety
at about a quarter of the speed.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from system.clock import Clock
from system.eventlog.batch import chain, check_expected
from system.eventlog.codec import GENESIS_HASH, LoggedEvent, decode_entry
from system.eventlog.lock import WriterLock, covered
from system.eventlog.store import (
    NO_STREAM,
    EventStore,
    Head,
    LogDamaged,
    NewEvent,
    NotAnEventLog,
    RawEntry,
    Snapshot,
    replay_checked,
)
from system.eventlog.walcheckpoint import Checkpointer

FORMAT = "chronex-eventlog"
FORMAT_VERSION = "3"
# 2: record types stored as integer ids (types table).
# 3: streams.version is exact only up to the seq in chronex_meta 'streams_seq'; the entries after it
#    carry their own versions (an append no longer rewrites the streams table's page). Version 2
#    files are read as they are and become version 3 at their first append.
READABLE = ("2", FORMAT_VERSION)

_SCHEMA = """
CREATE TABLE chronex_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE streams (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, version INTEGER NOT NULL);
CREATE TABLE types (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    stream_id INTEGER NOT NULL,
    stream_version INTEGER NOT NULL,
    type_id INTEGER NOT NULL,
    valid_time INTEGER NOT NULL,
    recorded_time INTEGER NOT NULL,
    body BLOB NOT NULL,
    hash BLOB NOT NULL
);
CREATE TABLE snapshots (
    name TEXT NOT NULL, seq INTEGER NOT NULL, state BLOB NOT NULL, state_hash BLOB NOT NULL,
    PRIMARY KEY (name, seq)
);
"""

# Optional: an index per stream scatters every batch over one B-tree leaf per stream and roughly
# halves append throughput with ~100 streams. Without it read_stream scans the table in seq
# order (Chronex folds whole logs, it does not load single streams on the hot path), and
# (stream, version) uniqueness is guaranteed by the single writer numbering versions inside its
# exclusive transaction (I2, proved by the contract suite).
_STREAM_INDEX = "CREATE UNIQUE INDEX IF NOT EXISTS events_by_stream ON events (stream_id, stream_version)"

# A stream's version: the streams table's, or a later entry's (after the 'streams_seq' watermark;
# a version 2 file has none, and its table is exact).
_VERSION_SQL = """
SELECT MAX(v) FROM (
    SELECT version AS v FROM streams WHERE name = ?1
    UNION ALL
    SELECT e.stream_version FROM events e
    WHERE e.seq > COALESCE(
        (SELECT CAST(value AS INTEGER) FROM chronex_meta WHERE key = 'streams_seq'),
        9223372036854775807)
      AND e.stream_id = (SELECT id FROM streams WHERE name = ?1)
)
"""

# One INSERT of up to this many rows is a whole append; a longer one is several, in a
# transaction. Statement i inserts i rows.
_MULTI_ROWS = 32
_INSERT_ROWS = [
    "",
    *("INSERT INTO events VALUES " + ",".join(["(?,?,?,?,?,?,?,?)"] * i) for i in range(1, _MULTI_ROWS + 1)),
]

# Entries appended between two updates of the streams table (and its watermark).
SYNC_ROWS = 16384

# Bodies and hashes are read as blobs whatever their stored type: a byte string edited into TEXT
# (sqlite's replace() returns text) is then a hash mismatch at its seq, not a decode error.
_BODY_HASH = "CAST(e.body AS BLOB), CAST(e.hash AS BLOB)"
_HEAD_SQL = "SELECT seq, CAST(hash AS BLOB) FROM events ORDER BY seq DESC LIMIT 1"
_RAW_COLS = f"e.seq, s.name, e.stream_version, t.name, e.valid_time, e.recorded_time, {_BODY_HASH}"


def _cut_short(path: Path) -> str | None:
    """How a database file is shorter than its own header says (None: it is not, or it is no
    database). SQLite reads a missing tail as zeros, so a copy cut inside its last page would
    otherwise verify as an altered entry, which an auditor reads as tampering."""
    try:
        wal = Path(f"{path}-wal")
        if wal.exists() and wal.stat().st_size > 0:
            # A live (or killed) writer's log: a checkpoint writes page 1, with the new page
            # count, before the pages that grow the file, so the header may run ahead of it.
            return None
        size = path.stat().st_size
        with path.open("rb") as f:
            h = f.read(100)
    except OSError:
        return None
    if len(h) < 100 or not h.startswith(b"SQLite format 3\x00"):
        return None
    page = int.from_bytes(h[16:18], "big")
    page = 65536 if page == 1 else page
    pages = int.from_bytes(h[28:32], "big")
    # The header's page count holds only when its "valid for" counter matches the change counter.
    if pages and h[24:28] == h[92:96] and size < pages * page:
        return f"{size:,} bytes, its header counts {pages:,} pages of {page:,} bytes"
    if page and size % page:
        return f"{size:,} bytes is not a whole number of {page:,}-byte pages"
    return None


def _unreadable(path: Path, e: sqlite3.DatabaseError) -> NotAnEventLog:
    """SQLite's refusal as the log's error: a damaged file (cut short or corrupt) is told apart
    from a file that never was a log, because an auditor must hear that a log is damaged."""
    if (getattr(e, "sqlite_errorcode", 0) or 0) & 0xFF == sqlite3.SQLITE_CORRUPT or "malformed" in str(e):
        return LogDamaged(str(path), f"damaged: the file is cut short or corrupt ({e})")
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    if wal.exists() and not shm.exists() and not os.access(path.parent, os.W_OK):
        # What a killed writer leaves, copied onto read-only media: SQLite must create the -shm
        # index to read the -wal, and cannot there.
        return NotAnEventLog(
            f"{path}: a Chronex log whose last entries are in {wal.name}, which SQLite can read "
            f"only with {shm.name} beside it, and this folder is read-only: copy the log with its "
            f"{wal.name} to a writable folder (or copy {shm.name} too) ({e})"
        )
    return NotAnEventLog(f"{path}: not a Chronex event log ({e})")


class SQLiteEventStore(EventStore):
    def __init__(
        self,
        path: str | Path,
        clock: Clock,
        *,
        create: bool = True,
        durability: str = "normal",
        stream_index: bool = False,
        readonly: bool = False,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self.clock = clock
        self.readonly = readonly
        if readonly:
            create = False
        if not create and not self.path.exists():
            raise NotAnEventLog(f"{self.path}: no such file")
        if self.path.is_dir():
            raise NotAnEventLog(f"{self.path}: is a directory, not a Chronex event log")
        short = _cut_short(self.path)
        if short is not None:
            raise LogDamaged(str(self.path), f"damaged: the file is cut short ({short})")
        if durability not in ("normal", "full"):
            raise ValueError(f"durability {durability!r} is not 'normal' or 'full'")
        self._durability = durability
        self._wlock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._db = self._connect()
        self._init_schema(create)
        if stream_index:
            self._db.execute(_STREAM_INDEX)
        self._stream_ids: dict[str, int] = {}
        # The writer lock, taken at the first append unless a run of this process holds it: two
        # stores (or processes) never interleave appends to one file.
        self._writer: WriterLock | None = None
        # Decided once, at the first append (a path lookup per append would tax the hot path).
        self._lock_pending = str(path) != ":memory:"
        # True while no other connection can commit to the log: this store holds the writer lock
        # of its own (or the database is private, ":memory:"). Then the cached head and stream
        # versions stay true between appends, and the ``PRAGMA data_version`` round trip that
        # detects another writer's commit is skipped. A run's lock covers every store of the
        # process on the file, so a covered store keeps checking.
        self._sole = not self._lock_pending
        self._type_ids: dict[str, int] = {}
        self._versions: dict[str, int] = {}
        self._head: Head | None = None
        self._data_version = -1
        # Stream versions appended since the streams table was last brought up to date, and how
        # many entries that was (see SYNC_ROWS). ``_dirty_complete``: the dict holds every stream
        # changed after the watermark (false until this store has scanned the tail once: a writer
        # killed before its sync leaves entries after the watermark that no dict knows of).
        self._dirty: dict[str, int] = {}
        self._unsynced = 0
        self._dirty_complete = False
        self._checkpointer: Checkpointer | None = None  # from the first append of a file

    # -- connections -----------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        # No pragma that writes (journal_mode) until the file is known to be ours: opening someone
        # else's database by mistake must leave it untouched.
        try:
            if self.readonly:
                db = sqlite3.connect(
                    self._readonly_uri(), uri=True, isolation_level=None, check_same_thread=False
                )
            else:
                db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA busy_timeout=10000")
            db.execute(f"PRAGMA synchronous={self._durability.upper()}")
            db.execute("PRAGMA cache_size=-65536")
        except sqlite3.DatabaseError as e:
            raise _unreadable(self.path, e) from None
        return db

    def _readonly_uri(self) -> str:
        """``mode=ro``: SQLite never writes the file. With no ``-wal`` beside it no writer has the
        log open and nothing is pending in a WAL, so ``immutable=1`` also spares the ``-shm``/``-wal``
        files a WAL reader would otherwise create beside it (impossible on read-only media)."""
        uri = self.path.resolve().as_uri() + "?mode=ro"
        wal = self.path.with_name(self.path.name + "-wal")
        return uri if wal.exists() else uri + "&immutable=1"

    def _reader(self) -> sqlite3.Connection:
        # Every thread reads on a connection of its own, never on the writer's: a reader then sees
        # only committed entries, and a subscriber never blocks (or is blocked by) the writer.
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._connect()
            self._local.db = db
            with self._readers_lock:
                self._readers.append(db)
        return db

    def _init_schema(self, create: bool) -> None:
        try:
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as e:
            raise _unreadable(self.path, e) from None
        if not tables:
            if not create:
                raise NotAnEventLog(f"{self.path}: empty file, not a Chronex event log")
            self._format = FORMAT_VERSION
            with self._wlock:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("BEGIN IMMEDIATE")
                for stmt in _SCHEMA.strip().split(";"):
                    if stmt.strip():
                        self._db.execute(stmt)
                self._db.executemany(
                    "INSERT INTO chronex_meta VALUES (?, ?)",
                    [("format", FORMAT), ("format_version", FORMAT_VERSION), ("streams_seq", "0")],
                )
                self._db.execute("COMMIT")
            return
        if "chronex_meta" not in tables:
            raise NotAnEventLog(f"{self.path}: SQLite file without a Chronex event log in it")
        meta = dict(self._db.execute("SELECT key, value FROM chronex_meta").fetchall())
        if meta.get("format") != FORMAT:
            raise NotAnEventLog(f"{self.path}: format {meta.get('format')!r} is not {FORMAT!r}")
        if meta.get("format_version") not in READABLE:
            raise NotAnEventLog(
                f"{self.path}: log format version {meta.get('format_version')} is not supported "
                f"(this release reads {', '.join(READABLE)})"
            )
        self._format = meta["format_version"]
        if not self.readonly:
            self._db.execute("PRAGMA journal_mode=WAL")  # persistent in the file; a no-op when set

    # -- cached head, invalidated when another connection commits ---------------------------------
    def _refresh(self) -> None:
        dv = self._db.execute("PRAGMA data_version").fetchone()[0]
        if dv != self._data_version or self._head is None:
            self._data_version = dv
            self._versions.clear()
            row = self._db.execute(_HEAD_SQL).fetchone()
            self._head = Head(row[0], row[1]) if row else Head(0, GENESIS_HASH)

    def _version_in_tx(self, stream: str) -> int:
        v = self._versions.get(stream)
        if v is None:
            row = self._db.execute(_VERSION_SQL, (stream,)).fetchone()
            v = row[0] if row[0] is not None else NO_STREAM
            self._versions[stream] = v
        return v

    def _sync_streams_in_tx(self, head_seq: int) -> None:
        """Write every stream's version to the streams table and move the watermark to the head."""
        db = self._db
        if self._dirty_complete:
            changed = [(v, self._stream_id(s)) for s, v in self._dirty.items()]
        else:
            row = db.execute("SELECT value FROM chronex_meta WHERE key = 'streams_seq'").fetchone()
            since = int(row[0]) if row else head_seq
            changed = db.execute(
                "SELECT MAX(stream_version), stream_id FROM events WHERE seq > ? GROUP BY stream_id",
                (since,),
            ).fetchall()
            # Only a sole writer's dict can stay complete: nobody else appends behind its back.
            self._dirty_complete = self._sole
        db.executemany("UPDATE streams SET version = ? WHERE id = ?", changed)
        db.execute("INSERT OR REPLACE INTO chronex_meta VALUES ('streams_seq', ?)", (str(head_seq),))
        self._dirty.clear()
        self._unsynced = 0

    def _upgrade_in_tx(self) -> None:
        """Version 2 to 3: the streams table of a version 2 file is exact, so the watermark is its head."""
        row = self._db.execute("SELECT MAX(seq) FROM events").fetchone()
        self._db.executemany(
            "INSERT OR REPLACE INTO chronex_meta VALUES (?, ?)",
            [("format_version", FORMAT_VERSION), ("streams_seq", str(row[0] or 0))],
        )
        self._format = FORMAT_VERSION

    def _stream_id(self, stream: str) -> int:
        sid = self._stream_ids.get(stream)
        if sid is None:
            row = self._db.execute("SELECT id FROM streams WHERE name = ?", (stream,)).fetchone()
            if row is None:
                if not self._db.in_transaction:  # append's autocommit path: the entries join it
                    self._db.execute("BEGIN IMMEDIATE")
                cur = self._db.execute("INSERT INTO streams (name, version) VALUES (?, 0)", (stream,))
                sid = cur.lastrowid
                assert sid is not None
            else:
                sid = row[0]
            self._stream_ids[stream] = sid
        return sid

    def _type_id(self, name: str) -> int:
        tid = self._type_ids.get(name)
        if tid is None:
            row = self._db.execute("SELECT id FROM types WHERE name = ?", (name,)).fetchone()
            if row is None:
                if not self._db.in_transaction:
                    self._db.execute("BEGIN IMMEDIATE")
                cur = self._db.execute("INSERT INTO types (name) VALUES (?)", (name,))
                tid = cur.lastrowid
                assert tid is not None
            else:
                tid = row[0]
            self._type_ids[name] = tid
        return tid

    # -- writing ---------------------------------------------------------------------------------
    def append(
        self, batch: Sequence[NewEvent], expected: Mapping[str, int] | None = None
    ) -> list[LoggedEvent]:
        if not batch:
            return []
        with self._wlock:
            if self._lock_pending:
                if not covered(self.path):
                    self._writer = WriterLock(self.path, for_run=False).acquire()
                    self._sole = True
                self._lock_pending = False
                if not self.readonly:  # a file's first append (a read-only one fails below)
                    self._checkpointer = self._start_checkpointer()
            db = self._db
            # The common case, a sole writer with its head cached appending a few entries that
            # name known streams and types, is one INSERT statement in autocommit: SQLite runs it
            # as its own transaction, so it is as atomic as BEGIN/INSERT.../COMMIT, in one call.
            fast = self._sole and not expected and self._head is not None and self._format == FORMAT_VERSION
            if not fast:
                db.execute("BEGIN IMMEDIATE")
            try:
                if not fast:
                    if self._head is None or not self._sole:
                        self._refresh()
                    check_expected(expected, self._version_in_tx)
                head = self._head
                assert head is not None
                sid = self._stream_id
                ids = (self._stream_ids, self._type_ids, sid, self._type_id)
                logged, params, versions = chain(
                    batch, head.seq, head.hash, self._version_in_tx, self.clock.now_ns(), ids=ids
                )
                # The streams table is not rewritten by every append (its page would double the
                # WAL an append writes): the entries carry their versions, and the table catches
                # up every SYNC_ROWS entries and at close.
                n = len(logged)
                self._dirty.update(versions)
                self._unsynced += n
                if fast and n <= _MULTI_ROWS and self._unsynced < SYNC_ROWS and not db.in_transaction:
                    db.execute(_INSERT_ROWS[n], params)
                else:
                    if not db.in_transaction:  # fast, but a new stream or type id began one
                        db.execute("BEGIN IMMEDIATE")
                    if self._format != FORMAT_VERSION:
                        self._upgrade_in_tx()
                    # Statements of _MULTI_ROWS rows: ~0.2 us a row cheaper than executemany.
                    step = 8 * _MULTI_ROWS
                    whole = len(params) - len(params) % step
                    insert = _INSERT_ROWS[_MULTI_ROWS]
                    for i in range(0, whole, step):
                        db.execute(insert, params[i : i + step])
                    if whole < len(params):
                        db.execute(_INSERT_ROWS[n % _MULTI_ROWS], params[whole:])
                    if self._unsynced >= SYNC_ROWS:
                        self._sync_streams_in_tx(logged[-1].seq)
                    db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                # Everything cached may describe rows the rollback removed (new stream ids too).
                self._head = None
                self._versions.clear()
                self._dirty.clear()
                self._dirty_complete = False
                self._stream_ids.clear()
                self._type_ids.clear()
                raise
            self._versions.update(versions)
            last = logged[-1]
            self._head = Head(last.seq, last.hash)
            # Our own commit does not change data_version for this connection.
            ckpt = self._checkpointer
            # A commit writes its last page, and ~12 entries fill a 4 KiB page.
            if ckpt is not None and ckpt.due(1 + n // 12):
                ckpt.restart(db)
        if self._waiting:
            self._notify()
        return logged

    # -- reading ---------------------------------------------------------------------------------
    def _decode_rows(self, rows: Iterator[tuple[int, bytes, bytes]]) -> Iterator[LoggedEvent]:
        prev: bytes | None = None
        for seq, body, h in rows:
            if prev is None:
                prev = self._hash_at(seq - 1) if seq > 1 else GENESIS_HASH
            yield decode_entry(body, prev, h)
            prev = h

    def _hash_at(self, seq: int) -> bytes:
        row = self._reader().execute("SELECT CAST(hash AS BLOB) FROM events WHERE seq = ?", (seq,)).fetchone()
        return row[0] if row else GENESIS_HASH

    def read(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[LoggedEvent]:
        db = self._reader()
        if to_seq is None:
            rows = db.execute(
                f"SELECT e.seq, {_BODY_HASH} FROM events e WHERE e.seq >= ? ORDER BY e.seq", (from_seq,)
            )
        else:
            rows = db.execute(
                f"SELECT e.seq, {_BODY_HASH} FROM events e WHERE e.seq BETWEEN ? AND ? ORDER BY e.seq",
                (from_seq, to_seq),
            )
        return self._decode_rows(rows)

    def replay(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[LoggedEvent]:
        start = max(from_seq, 1)
        prev = self._hash_at(start - 1) if start > 1 else GENESIS_HASH
        rows = self._reader().execute(
            f"SELECT {_BODY_HASH} FROM events e WHERE e.seq BETWEEN ? AND ? ORDER BY e.seq",
            (start, to_seq if to_seq is not None else 1 << 62),
        )
        return replay_checked(rows, prev, start)

    def read_stream(self, stream: str, from_version: int = 1) -> Iterator[LoggedEvent]:
        db = self._reader()
        rows = db.execute(
            f"SELECT e.seq, {_BODY_HASH}, (SELECT CAST(hash AS BLOB) FROM events p WHERE p.seq = e.seq - 1) "
            "FROM events e JOIN streams s ON s.id = e.stream_id "
            "WHERE s.name = ? AND e.stream_version >= ? ORDER BY e.seq",
            (stream, from_version),
        )
        for _seq, body, h, prev in rows:
            yield decode_entry(body, prev if prev is not None else GENESIS_HASH, h)

    def read_until(self, valid_time: int, from_seq: int = 1) -> Iterator[LoggedEvent]:
        db = self._reader()
        rows = db.execute(
            f"SELECT e.seq, {_BODY_HASH}, (SELECT CAST(hash AS BLOB) FROM events p WHERE p.seq = e.seq - 1) "
            "FROM events e WHERE e.seq >= ? AND e.valid_time <= ? ORDER BY e.seq",
            (from_seq, valid_time),
        )
        for _seq, body, h, prev in rows:
            yield decode_entry(body, prev if prev is not None else GENESIS_HASH, h)

    def read_raw(self, from_seq: int = 1) -> Iterator[RawEntry]:
        rows = self._reader().execute(
            f"SELECT {_RAW_COLS} FROM events e LEFT JOIN streams s ON s.id = e.stream_id "
            "LEFT JOIN types t ON t.id = e.type_id "
            "WHERE e.seq >= ? ORDER BY e.seq",
            # From the start means every row, even one whose seq was edited below 1: verify must see it.
            (from_seq if from_seq > 1 else -(1 << 63),),
        )
        try:
            for r in rows:
                yield RawEntry(
                    r[0],
                    r[1] if r[1] is not None else "",
                    r[2],
                    r[3] if r[3] is not None else "",
                    r[4],
                    r[5],
                    r[6],
                    r[7],
                )
        except sqlite3.DatabaseError as e:  # a page cut off or overwritten, met mid-read
            raise _unreadable(self.path, e) from None

    def head(self) -> Head:
        row = self._reader().execute(_HEAD_SQL).fetchone()
        return Head(row[0], row[1]) if row else Head(0, GENESIS_HASH)

    def stream_version(self, stream: str) -> int:
        v = self._reader().execute(_VERSION_SQL, (stream,)).fetchone()[0]
        return v if v is not None else NO_STREAM

    # -- snapshots -------------------------------------------------------------------------------
    def save_snapshot(self, snapshot: Snapshot) -> None:
        with self._wlock:
            self._db.execute(
                "INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?)",
                (snapshot.name, snapshot.seq, snapshot.state, snapshot.state_hash),
            )

    def load_snapshot(self, name: str, at_or_before: int | None = None) -> Snapshot | None:
        limit = at_or_before if at_or_before is not None else 2**62
        row = (
            self._reader()
            .execute(
                "SELECT name, seq, state, state_hash FROM snapshots WHERE name = ? AND seq <= ? "
                "ORDER BY seq DESC LIMIT 1",
                (name, limit),
            )
            .fetchone()
        )
        return Snapshot(*row) if row else None

    def list_snapshots(self, name: str) -> list[int]:
        return [
            r[0]
            for r in self._reader().execute("SELECT seq FROM snapshots WHERE name = ? ORDER BY seq", (name,))
        ]

    def _start_checkpointer(self) -> Checkpointer:
        self._db.execute("PRAGMA wal_autocheckpoint=0")  # see walcheckpoint.py
        # A WAL that grew while a reader held it back is cut to ~64 MB when it starts over.
        self._db.execute("PRAGMA journal_size_limit=67108864")
        return Checkpointer(self._connect)

    def _sync_at_close(self) -> None:
        if not self._unsynced or self.readonly:
            return
        with self._wlock:
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
                head = db.execute("SELECT MAX(seq) FROM events").fetchone()[0] or 0
                self._sync_streams_in_tx(head)
                db.execute("COMMIT")
            except sqlite3.Error:
                # Not needed for correctness (readers look past the watermark); only for speed.
                if db.in_transaction:
                    db.execute("ROLLBACK")

    def close(self) -> None:
        ckpt, self._checkpointer = self._checkpointer, None
        if ckpt is not None:
            ckpt.close()
        self._sync_at_close()
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for db in readers:
            db.close()
        self._local = threading.local()
        self._db.close()
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.release()
