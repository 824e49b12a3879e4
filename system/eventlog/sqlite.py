"""SQLite EventStore: one file, WAL journal, the embedded default.

Durability: ``synchronous=NORMAL`` in WAL mode. A committed append is in the WAL before ``append``
returns, so killing the process loses nothing; a power cut or OS crash may lose the most recent
commits (never corrupt older ones). ``durability="full"`` fsyncs every commit for power-loss safety
at about a quarter of the speed.
"""

from __future__ import annotations

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
    NewEvent,
    NotAnEventLog,
    RawEntry,
    Snapshot,
    replay_checked,
)

FORMAT = "chronex-eventlog"
FORMAT_VERSION = "2"  # 2: record types stored as integer ids (types table)

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
_STREAM_INDEX = (
    "CREATE UNIQUE INDEX IF NOT EXISTS events_by_stream ON events (stream_id, stream_version)"
)

_RAW_COLS = (
    "e.seq, s.name, e.stream_version, t.name, e.valid_time, e.recorded_time, e.body, e.hash"
)


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
            raise NotAnEventLog(f"{self.path}: not a Chronex event log ({e})") from None
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
            tables = {
                r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        except sqlite3.DatabaseError as e:
            raise NotAnEventLog(f"{self.path}: not a Chronex event log ({e})") from None
        if not tables:
            if not create:
                raise NotAnEventLog(f"{self.path}: empty file, not a Chronex event log")
            with self._wlock:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("BEGIN IMMEDIATE")
                for stmt in _SCHEMA.strip().split(";"):
                    if stmt.strip():
                        self._db.execute(stmt)
                self._db.executemany(
                    "INSERT INTO chronex_meta VALUES (?, ?)",
                    [("format", FORMAT), ("format_version", FORMAT_VERSION)],
                )
                self._db.execute("COMMIT")
            return
        if "chronex_meta" not in tables:
            raise NotAnEventLog(f"{self.path}: SQLite file without a Chronex event log in it")
        meta = dict(self._db.execute("SELECT key, value FROM chronex_meta").fetchall())
        if meta.get("format") != FORMAT:
            raise NotAnEventLog(f"{self.path}: format {meta.get('format')!r} is not {FORMAT!r}")
        if meta.get("format_version") != FORMAT_VERSION:
            raise NotAnEventLog(
                f"{self.path}: log format version {meta.get('format_version')} is not supported "
                f"(this release reads {FORMAT_VERSION})"
            )
        if not self.readonly:
            self._db.execute("PRAGMA journal_mode=WAL")  # persistent in the file; a no-op when set

    # -- cached head, invalidated when another connection commits ---------------------------------
    def _refresh(self) -> None:
        dv = self._db.execute("PRAGMA data_version").fetchone()[0]
        if dv != self._data_version or self._head is None:
            self._data_version = dv
            self._versions.clear()
            row = self._db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
            self._head = Head(row[0], row[1]) if row else Head(0, GENESIS_HASH)

    def _version_in_tx(self, stream: str) -> int:
        v = self._versions.get(stream)
        if v is None:
            row = self._db.execute("SELECT version FROM streams WHERE name = ?", (stream,)).fetchone()
            v = row[0] if row else NO_STREAM
            self._versions[stream] = v
        return v

    def _stream_id(self, stream: str) -> int:
        sid = self._stream_ids.get(stream)
        if sid is None:
            row = self._db.execute("SELECT id FROM streams WHERE name = ?", (stream,)).fetchone()
            if row is None:
                cur = self._db.execute(
                    "INSERT INTO streams (name, version) VALUES (?, 0)", (stream,)
                )
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
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                if self._head is None or not self._sole:
                    self._refresh()
                check_expected(expected, self._version_in_tx)
                head = self._head
                assert head is not None
                sid = self._stream_id
                ids = (self._stream_ids, self._type_ids, sid, self._type_id)
                logged, rows, versions = chain(
                    batch, head.seq, head.hash, self._version_in_tx, self.clock.now_ns(), ids=ids
                )
                db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
                db.executemany(
                    "UPDATE streams SET version = ? WHERE id = ?",
                    [(v, sid(s)) for s, v in versions.items()],
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                # Everything cached may describe rows the rollback removed (new stream ids too).
                self._head = None
                self._versions.clear()
                self._stream_ids.clear()
                self._type_ids.clear()
                raise
            self._versions.update(versions)
            last = logged[-1]
            self._head = Head(last.seq, last.hash)
            # Our own commit does not change data_version for this connection.
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
        row = self._reader().execute("SELECT hash FROM events WHERE seq = ?", (seq,)).fetchone()
        return row[0] if row else GENESIS_HASH

    def read(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[LoggedEvent]:
        db = self._reader()
        if to_seq is None:
            rows = db.execute(
                "SELECT seq, body, hash FROM events WHERE seq >= ? ORDER BY seq", (from_seq,)
            )
        else:
            rows = db.execute(
                "SELECT seq, body, hash FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq",
                (from_seq, to_seq),
            )
        return self._decode_rows(rows)

    def replay(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[LoggedEvent]:
        start = max(from_seq, 1)
        prev = self._hash_at(start - 1) if start > 1 else GENESIS_HASH
        rows = self._reader().execute(
            "SELECT body, hash FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq",
            (start, to_seq if to_seq is not None else 1 << 62),
        )
        return replay_checked(rows, prev, start)

    def read_stream(self, stream: str, from_version: int = 1) -> Iterator[LoggedEvent]:
        db = self._reader()
        rows = db.execute(
            "SELECT e.seq, e.body, e.hash, (SELECT hash FROM events p WHERE p.seq = e.seq - 1) "
            "FROM events e JOIN streams s ON s.id = e.stream_id "
            "WHERE s.name = ? AND e.stream_version >= ? ORDER BY e.seq",
            (stream, from_version),
        )
        for _seq, body, h, prev in rows:
            yield decode_entry(body, prev if prev is not None else GENESIS_HASH, h)

    def read_until(self, valid_time: int, from_seq: int = 1) -> Iterator[LoggedEvent]:
        db = self._reader()
        rows = db.execute(
            "SELECT e.seq, e.body, e.hash, (SELECT hash FROM events p WHERE p.seq = e.seq - 1) "
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
        for r in rows:
            yield RawEntry(
                r[0], r[1] if r[1] is not None else "", r[2], r[3] if r[3] is not None else "",
                r[4], r[5], r[6], r[7],
            )

    def head(self) -> Head:
        row = (
            self._reader()
            .execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
            .fetchone()
        )
        return Head(row[0], row[1]) if row else Head(0, GENESIS_HASH)

    def stream_version(self, stream: str) -> int:
        row = (
            self._reader()
            .execute("SELECT version FROM streams WHERE name = ?", (stream,))
            .fetchone()
        )
        return row[0] if row else NO_STREAM

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
            for r in self._reader().execute(
                "SELECT seq FROM snapshots WHERE name = ? ORDER BY seq", (name,)
            )
        ]

    def close(self) -> None:
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for db in readers:
            db.close()
        self._local = threading.local()
        self._db.close()
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.release()
