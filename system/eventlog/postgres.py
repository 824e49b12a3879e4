"""PostgreSQL EventStore (psycopg 3): the same bytes and hashes as SQLite, in a server database.

URL: ``postgresql://user@host:port/dbname?schema=NAME`` (``postgres://`` too). The log lives in
the schema ``NAME`` (default ``chronex``), so one database holds many logs; every other query
parameter goes to libpq unchanged.

Single writer. The first append takes a session advisory lock keyed by the schema and keeps it
until the store is closed (or its process dies, when the server drops the session). A second
store that tries to append is refused with ``LogLocked`` naming the holder, so seq numbers are
assigned by one process, gap-free and in commit order (I1); the primary key on ``seq`` turns any
writer that bypasses the lock into an error, never a fork. Reads and snapshots take no lock.

Durability: each append is one transaction committed with the server's ``synchronous_commit``
(on by default: the WAL is flushed before ``append`` returns, so a killed client or server loses
nothing acknowledged).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from system.clock import Clock
from system.eventlog.batch import chain, check_expected
from system.eventlog.codec import GENESIS_HASH, LoggedEvent, decode_entry
from system.eventlog.store import (
    NO_STREAM,
    EventLogError,
    EventStore,
    Head,
    LogLocked,
    NewEvent,
    NotAnEventLog,
    RawEntry,
    Snapshot,
    replay_checked,
)

FORMAT = "chronex-eventlog"
FORMAT_VERSION = "2"  # the SQLite file's format: same tables, same meaning
DEFAULT_SCHEMA = "chronex"
_PAGE = 20_000  # rows per keyset page when reading: bounded memory on any log size
_LOCK_CLASS = 0x43484E58  # "CHNX": the advisory lock namespace of Chronex writers
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

_TABLES = """
CREATE TABLE {s}.chronex_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE {s}.streams (id SERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE, version BIGINT NOT NULL);
CREATE TABLE {s}.types (id SERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE {s}.events (
    seq BIGINT PRIMARY KEY,
    stream_id INTEGER NOT NULL,
    stream_version BIGINT NOT NULL,
    type_id INTEGER NOT NULL,
    valid_time BIGINT NOT NULL,
    recorded_time BIGINT NOT NULL,
    body BYTEA NOT NULL,
    hash BYTEA NOT NULL
);
CREATE TABLE {s}.snapshots (
    name TEXT NOT NULL, seq BIGINT NOT NULL, state BYTEA NOT NULL, state_hash BYTEA NOT NULL,
    PRIMARY KEY (name, seq)
)
"""


def split_url(url: str, default_schema: str = DEFAULT_SCHEMA) -> tuple[str, str]:
    """``(libpq conninfo URL, schema)``: the ``schema`` parameter is ours, the rest is libpq's."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = default_schema
    rest: list[tuple[str, str]] = []
    for k, v in query:
        if k == "schema":
            schema = v
        else:
            rest.append((k, v))
    if not _NAME.match(schema):
        raise NotAnEventLog(
            f"{redact(url)}: schema {schema!r} is not a plain SQL name (letters, digits, _; 63 at most)"
        )
    scheme = "postgresql"
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(rest), "")), schema


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def lock_key(schema: str) -> int:
    """The advisory lock id of a schema's writer (a signed 32-bit int, stable across processes)."""
    return int.from_bytes(hashlib.sha256(schema.encode()).digest()[:4], "big", signed=True)


class PostgresEventStore(EventStore):
    def __init__(self, url: str, clock: Clock, *, create: bool = True) -> None:
        super().__init__()
        self.url = url
        self.clock = clock
        self._conninfo, self.schema = split_url(url)
        self._shown = redact(url)
        self._s = sql.Identifier(self.schema)
        self._key = lock_key(self.schema)
        self._wlock = threading.Lock()
        self._local = threading.local()
        self._readers: list[psycopg.Connection[Any]] = []
        self._readers_lock = threading.Lock()
        self._writer: psycopg.Connection[Any] | None = None
        self._stream_ids: dict[str, int] = {}
        self._type_ids: dict[str, int] = {}
        self._versions: dict[str, int] = {}
        self._head: Head | None = None
        self._closed = False
        try:
            self._init_schema(create)
        except BaseException:
            self.close()  # a refused open leaves no connection behind
            raise

    # -- connections -----------------------------------------------------------------------------
    def _connect(self, role: str) -> psycopg.Connection[Any]:
        name = f"chronex {role} pid {os.getpid()} on {socket.gethostname()}"[:63]
        try:
            return psycopg.connect(
                self._conninfo, autocommit=True, application_name=name, connect_timeout=10
            )
        except (psycopg.Error, UnicodeError) as e:
            if isinstance(e, UnicodeError):  # the host part is not a host name (an empty label)
                why = "not a valid host name"
                raise EventLogError(f"{self._shown}: cannot connect to PostgreSQL ({why})") from None
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise EventLogError(f"{self._shown}: cannot connect to PostgreSQL ({first})") from None

    def _reader(self) -> psycopg.Connection[Any]:
        # One autocommit connection per thread: each query sees every committed append, and a
        # subscriber never waits for (or holds up) the writer's transaction.
        db: psycopg.Connection[Any] | None = getattr(self._local, "db", None)
        if db is None or db.closed:
            db = self._connect("reader")
            self._local.db = db
            with self._readers_lock:
                self._readers.append(db)
        return db

    def _q(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(s=self._s)

    def _init_schema(self, create: bool) -> None:
        db = self._reader()
        with db.transaction():
            # Two processes creating the same log at once: the second waits, then finds it made.
            db.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_CLASS - 1, self._key))
            tables = {
                r[0]
                for r in db.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                    (self.schema,),
                )
            }
            if not tables:
                if not create:
                    raise NotAnEventLog(f"{self._shown}: no Chronex event log in schema {self.schema!r}")
                db.execute(self._q("CREATE SCHEMA IF NOT EXISTS {s}"))
                for stmt in _TABLES.strip().split(";"):
                    db.execute(self._q(stmt))
                with db.cursor() as cur:
                    cur.executemany(
                        self._q("INSERT INTO {s}.chronex_meta VALUES (%s, %s)"),
                        [("format", FORMAT), ("format_version", FORMAT_VERSION)],
                    )
                return
        if "chronex_meta" not in tables:
            raise NotAnEventLog(
                f"{self._shown}: schema {self.schema!r} holds tables but no Chronex event log"
            )
        meta = dict(db.execute(self._q("SELECT key, value FROM {s}.chronex_meta")).fetchall())
        if meta.get("format") != FORMAT:
            raise NotAnEventLog(f"{self._shown}: format {meta.get('format')!r} is not {FORMAT!r}")
        if meta.get("format_version") != FORMAT_VERSION:
            raise NotAnEventLog(
                f"{self._shown}: log format version {meta.get('format_version')} is not supported "
                f"(this release reads {FORMAT_VERSION})"
            )

    # -- the writer: one connection holding the schema's advisory lock -----------------------------
    def claim(self) -> None:
        """Take the writer lock now rather than at the first append: a long-lived writer (``chronex
        serve``) that may not append for a while is refused at start-up if another one holds it."""
        self._writer_conn()

    def _writer_conn(self) -> psycopg.Connection[Any]:
        db = self._writer
        if db is not None and not db.closed and not db.broken:
            return db
        if db is not None:
            # The session is gone (server restart, network): so is its lock. Take it again.
            db.close()
            self._writer = None
        if self._closed:
            raise EventLogError(f"{self._shown}: the store is closed")
        db = self._connect("writer")
        q = "SELECT pg_try_advisory_lock(%s, %s)"
        (got,) = db.execute(q, (_LOCK_CLASS, self._key)).fetchone() or (False,)
        if not got:
            holder = self._holder(db)
            db.close()
            raise LogLocked(
                f"{self._shown}: another writer holds this log ({holder}); it has one writer at a time"
            )
        db.autocommit = False
        self._writer = db
        self._forget()
        return db

    def _holder(self, db: psycopg.Connection[Any]) -> str:
        row = db.execute(
            "SELECT a.application_name, a.pid, a.client_addr::text, a.backend_start "
            "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s::oid AND l.objid = %s::oid "
            "AND l.objsubid = 2 "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (_LOCK_CLASS, self._key & 0xFFFFFFFF),
        ).fetchone()
        if row is None:
            return "a session that has just let go; try again"
        app, pid, addr, since = row
        where = addr or "local socket"
        return f"{app or 'a client'}, server pid {pid}, from {where}, since {since:%Y-%m-%d %H:%M:%S%z}"

    def _forget(self) -> None:
        self._head = None
        self._versions.clear()
        self._stream_ids.clear()
        self._type_ids.clear()

    def _load_head(self, db: psycopg.Connection[Any]) -> Head:
        row = db.execute(self._q("SELECT seq, hash FROM {s}.events ORDER BY seq DESC LIMIT 1")).fetchone()
        return Head(row[0], bytes(row[1])) if row else Head(0, GENESIS_HASH)

    def _version_in_tx(self, stream: str) -> int:
        v = self._versions.get(stream)
        if v is None:
            assert self._writer is not None
            row = self._writer.execute(
                self._q("SELECT version FROM {s}.streams WHERE name = %s"), (stream,)
            ).fetchone()
            v = row[0] if row else NO_STREAM
            self._versions[stream] = v
        return v

    def _id(self, table: str, cache: dict[str, int], name: str) -> int:
        i = cache.get(name)
        if i is None:
            assert self._writer is not None
            w = self._writer
            row = w.execute(self._q(f"SELECT id FROM {{s}}.{table} WHERE name = %s"), (name,)).fetchone()
            if row is None:
                extra = ", version) VALUES (%s, 0)" if table == "streams" else ") VALUES (%s)"
                row = w.execute(
                    self._q(f"INSERT INTO {{s}}.{table} (name{extra} RETURNING id"), (name,)
                ).fetchone()
            assert row is not None
            i = int(row[0])
            cache[name] = i
        return i

    def append(
        self, batch: Sequence[NewEvent], expected: Mapping[str, int] | None = None
    ) -> list[LoggedEvent]:
        if not batch:
            return []
        with self._wlock:
            db = self._writer_conn()
            committing = False
            try:
                head = self._head
                if head is None:
                    head = self._head = self._load_head(db)
                check_expected(expected, self._version_in_tx)
                sids, tids = self._stream_ids, self._type_ids
                new_ids: list[tuple[str, str]] = []

                def row(
                    seq: int, stream: str, v: int, name: str, vt: int, rt: int, body: bytes, h: bytes
                ) -> tuple[int, int, int, int, int, int, bytes, bytes]:
                    s = sids.get(stream)
                    if s is None:
                        s = self._id("streams", sids, stream)
                        new_ids.append(("streams", stream))
                    t = tids.get(name)
                    if t is None:
                        t = self._id("types", tids, name)
                        new_ids.append(("types", name))
                    return (seq, s, v, t, vt, rt, body, h)

                logged, rows, versions = chain(
                    batch, head.seq, head.hash, self._version_in_tx, self.clock.now_ns(), row
                )
                with db.cursor() as cur:
                    with cur.copy(
                        self._q(
                            "COPY {s}.events (seq, stream_id, stream_version, type_id, valid_time, "
                            "recorded_time, body, hash) FROM STDIN (FORMAT BINARY)"
                        )
                    ) as cp:
                        cp.set_types(["int8", "int4", "int8", "int4", "int8", "int8", "bytea", "bytea"])
                        write = cp.write_row
                        for r in rows:
                            write(r)
                    cur.execute(
                        self._q(
                            "UPDATE {s}.streams AS t SET version = d.v "
                            "FROM unnest(%s::int4[], %s::int8[]) AS d(id, v) WHERE t.id = d.id"
                        ),
                        ([sids[s] for s in versions], list(versions.values())),
                    )
                committing = True
                db.commit()
            except BaseException as e:
                with contextlib.suppress(psycopg.Error):
                    db.rollback()
                # Cached ids and versions may describe rows the rollback removed.
                self._forget()
                if isinstance(e, psycopg.OperationalError):
                    first = (str(e).strip().splitlines() or [type(e).__name__])[0]
                    # A commit whose reply was lost may have landed: only the head can tell.
                    what = (
                        "the commit's outcome is unknown (compare the head)"
                        if committing
                        else "nothing of it was written"
                    )
                    raise EventLogError(f"{self._shown}: append failed, {what} ({first})") from e
                raise
            self._versions.update(versions)
            last = logged[-1]
            self._head = Head(last.seq, last.hash)
        self._notify()
        return logged

    # -- reading ---------------------------------------------------------------------------------
    def _pages(self, query: str, first: int, params: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
        """Rows of ``query`` (whose first column is seq, filtered by ``seq >= %s`` as its first
        parameter and ordered by seq, with ``LIMIT %s`` last) a page at a time."""
        db = self._reader()
        q = self._q(query)
        nxt = first
        while True:
            with db.cursor(binary=True) as cur:
                rows = cur.execute(q, (nxt, *params, _PAGE)).fetchall()
            yield from rows
            if len(rows) < _PAGE:
                return
            nxt = rows[-1][0] + 1

    def _hash_at(self, seq: int) -> bytes:
        row = self._reader().execute(self._q("SELECT hash FROM {s}.events WHERE seq = %s"), (seq,)).fetchone()
        return bytes(row[0]) if row else GENESIS_HASH

    def read(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[LoggedEvent]:
        stop = to_seq if to_seq is not None else 1 << 62
        prev: bytes | None = None
        for seq, body, h in self._pages(
            "SELECT seq, body, hash FROM {s}.events WHERE seq >= %s AND seq <= %s ORDER BY seq LIMIT %s",
            from_seq,
            (stop,),
        ):
            if prev is None:
                prev = self._hash_at(seq - 1) if seq > 1 else GENESIS_HASH
            yield decode_entry(body, prev, h)
            prev = h

    def replay(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[LoggedEvent]:
        start = max(from_seq, 1)
        prev = self._hash_at(start - 1) if start > 1 else GENESIS_HASH
        stop = to_seq if to_seq is not None else 1 << 62
        rows = self._pages(
            "SELECT seq, body, hash FROM {s}.events WHERE seq >= %s AND seq <= %s ORDER BY seq LIMIT %s",
            start,
            (stop,),
        )
        return replay_checked(((b, h) for _s, b, h in rows), prev, start)

    def _with_prev(self, where: str, first: int, params: tuple[Any, ...]) -> Iterator[LoggedEvent]:
        for _seq, body, h, prev in self._pages(
            "SELECT e.seq, e.body, e.hash, (SELECT p.hash FROM {s}.events p WHERE p.seq = e.seq - 1) "
            f"FROM {{s}}.events e WHERE e.seq >= %s AND {where} ORDER BY e.seq LIMIT %s",
            first,
            params,
        ):
            yield decode_entry(body, prev if prev is not None else GENESIS_HASH, h)

    def read_stream(self, stream: str, from_version: int = 1) -> Iterator[LoggedEvent]:
        q = self._q("SELECT id FROM {s}.streams WHERE name = %s")
        row = self._reader().execute(q, (stream,)).fetchone()
        if row is None:
            return iter(())
        return self._with_prev("e.stream_id = %s AND e.stream_version >= %s", 1, (row[0], from_version))

    def read_until(self, valid_time: int, from_seq: int = 1) -> Iterator[LoggedEvent]:
        return self._with_prev("e.valid_time <= %s", from_seq, (valid_time,))

    def read_raw(self, from_seq: int = 1) -> Iterator[RawEntry]:
        # From the start means every row, even one whose seq was edited below 1: verify must see it.
        first = from_seq if from_seq > 1 else -(1 << 63)
        for r in self._pages(
            "SELECT e.seq, s.name, e.stream_version, t.name, e.valid_time, e.recorded_time, e.body, e.hash "
            "FROM {s}.events e LEFT JOIN {s}.streams s ON s.id = e.stream_id "
            "LEFT JOIN {s}.types t ON t.id = e.type_id WHERE e.seq >= %s ORDER BY e.seq LIMIT %s",
            first,
        ):
            yield RawEntry(
                r[0], r[1] if r[1] is not None else "", r[2], r[3] if r[3] is not None else "",
                r[4], r[5], bytes(r[6]), bytes(r[7]),
            )

    def head(self) -> Head:
        return self._load_head(self._reader())

    def stream_version(self, stream: str) -> int:
        row = self._reader().execute(
            self._q("SELECT version FROM {s}.streams WHERE name = %s"), (stream,)
        ).fetchone()
        return int(row[0]) if row else NO_STREAM

    # -- snapshots (a cache beside the log: no writer lock, so a reader may build its index) ----
    def save_snapshot(self, snapshot: Snapshot) -> None:
        self._reader().execute(
            self._q(
                "INSERT INTO {s}.snapshots VALUES (%s, %s, %s, %s) ON CONFLICT (name, seq) "
                "DO UPDATE SET state = EXCLUDED.state, state_hash = EXCLUDED.state_hash"
            ),
            (snapshot.name, snapshot.seq, snapshot.state, snapshot.state_hash),
        )

    def load_snapshot(self, name: str, at_or_before: int | None = None) -> Snapshot | None:
        limit = at_or_before if at_or_before is not None else 2**62
        with self._reader().cursor(binary=True) as cur:
            row = cur.execute(
                self._q(
                    "SELECT name, seq, state, state_hash FROM {s}.snapshots WHERE name = %s AND seq <= %s "
                    "ORDER BY seq DESC LIMIT 1"
                ),
                (name, limit),
            ).fetchone()
        return Snapshot(row[0], row[1], bytes(row[2]), bytes(row[3])) if row else None

    def list_snapshots(self, name: str) -> list[int]:
        return [
            int(r[0])
            for r in self._reader().execute(
                self._q("SELECT seq FROM {s}.snapshots WHERE name = %s ORDER BY seq"), (name,)
            )
        ]

    def close(self) -> None:
        self._closed = True
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for db in readers:
            db.close()
        self._local = threading.local()
        with self._wlock:
            w, self._writer = self._writer, None
            if w is not None:
                self._let_go(w)

    def _let_go(self, w: psycopg.Connection[Any]) -> None:
        # Unlock before closing: the server frees a closed session's locks only when its backend
        # exits, after close() has returned, so a writer opened right after would find it still held.
        if not w.closed and not w.broken:
            try:
                w.rollback()
                w.execute("SELECT pg_advisory_unlock(%s, %s)", (_LOCK_CLASS, self._key))
                w.commit()
            except psycopg.Error:
                pass  # the session is going anyway; its lock goes with it
        w.close()


def partial_url(url: str) -> str:
    """The URL of a schema beside ``url``'s where a run writes a log that is to replace it only
    once it is whole (``publish``): the server's counterpart of a file's temporary name."""
    _, schema = split_url(url)
    tmp = f"{schema[:40]}_partial_{os.getpid()}"
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "schema"]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode([*query, ("schema", tmp)]), ""))


def publish(partial: str, url: str) -> None:
    """Put the log at ``partial`` in the place of ``url``'s, in one transaction (a reader sees the
    old log or the new one, never neither); refused while a writer holds ``url``'s log."""
    conninfo, schema = split_url(url)
    _, tmp = split_url(partial)
    with psycopg.connect(conninfo, autocommit=True) as db:
        key = lock_key(schema)
        (got,) = db.execute("SELECT pg_try_advisory_lock(%s, %s)", (_LOCK_CLASS, key)).fetchone() or (False,)
        if not got:
            raise LogLocked(f"{redact(url)}: a writer holds this log; the new one stays at schema {tmp!r}")
        try:
            with db.transaction():
                db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
                rename = sql.SQL("ALTER SCHEMA {} RENAME TO {}")
                db.execute(rename.format(sql.Identifier(tmp), sql.Identifier(schema)))
        finally:
            db.execute("SELECT pg_advisory_unlock(%s, %s)", (_LOCK_CLASS, key))


def drop_log(url: str) -> None:
    """Remove the log (its whole schema). For tests and ``--overwrite``; refuses while a writer holds it."""
    conninfo, schema = split_url(url)
    with psycopg.connect(conninfo, autocommit=True) as db:
        q = "SELECT pg_try_advisory_lock(%s, %s)"
        (got,) = db.execute(q, (_LOCK_CLASS, lock_key(schema))).fetchone() or (False,)
        if not got:
            raise LogLocked(f"{redact(url)}: a writer holds this log; it cannot be dropped now")
        db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
