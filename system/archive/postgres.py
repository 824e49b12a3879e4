"""The live archive in PostgreSQL: a log subscriber that keeps relational tables current.

Exactly once: each batch's rows and the archive's position (seq and hash of the last entry
archived) are written in one transaction, so a crash and a restart neither lose nor duplicate a
row. One archiver per schema at a time (a session advisory lock), and the position's hash must
match the log's entry at that seq, so an archive is never continued from another log.

Tables are partitioned by trade date (``<table>_YYYYMMDD``, created when a date first appears).
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from collections.abc import Sequence
from datetime import date
from typing import Any

import psycopg
from psycopg import sql

from system.archive.fold import (
    EXECUTION_COLUMNS,
    ORDER_COLUMNS,
    TRADE_COLUMNS,
    ArchiveFold,
    Changes,
    Order,
    TradeDate,
)
from system.eventlog.codec import LoggedEvent
from system.eventlog.postgres import redact, split_url
from system.eventlog.store import EventLogError, EventStore, LogLocked

DEFAULT_SCHEMA = "chronex_archive"
_LOCK_CLASS = 0x43484E41  # "CHNA": archiver locks

_TABLES = """
CREATE TABLE IF NOT EXISTS {s}.archive_position (
    name TEXT PRIMARY KEY, seq BIGINT NOT NULL, hash BYTEA NOT NULL, log TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {s}.orders (
    trade_date DATE NOT NULL, order_id BIGINT NOT NULL, instrument TEXT NOT NULL, account TEXT NOT NULL,
    client_order_id TEXT NOT NULL, side TEXT NOT NULL, order_type TEXT NOT NULL, tif TEXT NOT NULL,
    price BIGINT, qty BIGINT NOT NULL, filled BIGINT NOT NULL, leaves BIGINT NOT NULL,
    status TEXT NOT NULL, accepted_seq BIGINT NOT NULL, accepted_time BIGINT NOT NULL,
    updated_seq BIGINT NOT NULL,
    PRIMARY KEY (trade_date, order_id)
) PARTITION BY RANGE (trade_date);
CREATE TABLE IF NOT EXISTS {s}.executions (
    trade_date DATE NOT NULL, seq BIGINT NOT NULL, leg SMALLINT NOT NULL, time BIGINT NOT NULL,
    order_id BIGINT, instrument TEXT NOT NULL, account TEXT NOT NULL, exec_type TEXT NOT NULL,
    side TEXT NOT NULL, qty BIGINT NOT NULL, price BIGINT, leaves BIGINT, trade_id BIGINT,
    text TEXT NOT NULL,
    PRIMARY KEY (trade_date, seq, leg)
) PARTITION BY RANGE (trade_date);
CREATE TABLE IF NOT EXISTS {s}.trades (
    trade_date DATE NOT NULL, source TEXT NOT NULL, trade_id BIGINT NOT NULL, seq BIGINT NOT NULL,
    time BIGINT NOT NULL, instrument TEXT NOT NULL, price BIGINT NOT NULL, qty BIGINT NOT NULL,
    aggressor TEXT, buy_order_id BIGINT, sell_order_id BIGINT, buy_account TEXT NOT NULL,
    sell_account TEXT NOT NULL, status TEXT NOT NULL,
    PRIMARY KEY (trade_date, source, trade_id)
) PARTITION BY RANGE (trade_date);
CREATE TABLE IF NOT EXISTS {s}.positions (
    trade_date DATE NOT NULL, account TEXT NOT NULL, instrument TEXT NOT NULL,
    bought BIGINT NOT NULL, sold BIGINT NOT NULL,
    net BIGINT GENERATED ALWAYS AS (bought - sold) STORED,
    buy_notional NUMERIC NOT NULL, sell_notional NUMERIC NOT NULL, trades BIGINT NOT NULL,
    PRIMARY KEY (trade_date, account, instrument)
) PARTITION BY RANGE (trade_date);
CREATE TABLE IF NOT EXISTS {s}.account_events (
    trade_date DATE NOT NULL, seq BIGINT NOT NULL, time BIGINT NOT NULL, account TEXT NOT NULL,
    type TEXT NOT NULL, payload JSONB NOT NULL,
    PRIMARY KEY (trade_date, seq)
) PARTITION BY RANGE (trade_date)
"""
PARTITIONED = ("orders", "executions", "trades", "positions", "account_events")

_TYPES = {
    "orders": ["date", "int8", "text", "text", "text", "text", "text", "text", "int8", "int8", "int8",
               "int8", "text", "int8", "int8", "int8"],
    "executions": ["date", "int8", "int2", "int8", "int8", "text", "text", "text", "text", "int8", "int8",
                   "int8", "int8", "text"],
    "trades": ["date", "text", "int8", "int8", "int8", "text", "int8", "int8", "text", "int8", "int8",
               "text", "text", "text"],
}  # fmt: skip


class PostgresArchive:
    """A ``Subscriber`` (system/server/subscription.py) writing the archive tables.

    ``PostgresArchive(url, log, trade_date)``: ``url`` is ``postgresql://...?schema=NAME`` (default
    schema ``chronex_archive``), ``log`` the store it archives (to check the position against).
    """

    def __init__(
        self, url: str, log: EventStore, trade_date: TradeDate, *, name: str = "archive"
    ) -> None:
        self.name = name
        self.url = url
        self.log = log
        self._shown = redact(url)
        conninfo, schema = split_url(url, DEFAULT_SCHEMA)
        self.schema = schema
        self._s = sql.Identifier(schema)
        app = f"chronex archive pid {os.getpid()} on {socket.gethostname()}"[:63]
        try:
            self._db = psycopg.connect(conninfo, autocommit=True, application_name=app, connect_timeout=10)
        except (psycopg.Error, UnicodeError) as e:
            if isinstance(e, UnicodeError):  # the host part is not a host name (an empty label)
                why = "not a valid host name"
                raise EventLogError(f"{self._shown}: cannot connect to PostgreSQL ({why})") from None
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise EventLogError(f"{self._shown}: cannot connect to PostgreSQL ({first})") from None
        self._lock = threading.Lock()
        try:
            self._take_lock()
            self._create()
            self._pos, stored_hash = self._load_position()
            self._check_same_log(stored_hash)
        except BaseException:
            self._db.close()
            raise
        self._dates: set[date] = set()
        self.fold = ArchiveFold(trade_date, self._load_order)

    # -- set-up ----------------------------------------------------------------------------------
    def _q(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(s=self._s)

    def _take_lock(self) -> None:
        key = int.from_bytes(hashlib.sha256(self.schema.encode()).digest()[:4], "big", signed=True)
        row = self._db.execute("SELECT pg_try_advisory_lock(%s, %s)", (_LOCK_CLASS, key)).fetchone()
        if not (row and row[0]):
            holder = self._db.execute(
                "SELECT a.application_name, a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s::oid AND l.objid = %s::oid",
                (_LOCK_CLASS, key & 0xFFFFFFFF),
            ).fetchone()
            who = f"{holder[0]}, server pid {holder[1]}" if holder else "another session"
            raise LogLocked(f"{self._shown}: another archiver is writing schema {self.schema!r} ({who})")

    def _create(self) -> None:
        with self._db.transaction():
            self._db.execute(self._q("CREATE SCHEMA IF NOT EXISTS {s}"))
            for stmt in _TABLES.strip().split(";"):
                self._db.execute(self._q(stmt))

    def _load_position(self) -> tuple[int, bytes]:
        row = self._db.execute(
            self._q("SELECT seq, hash FROM {s}.archive_position WHERE name = %s"), (self.name,)
        ).fetchone()
        # Order ids are the log's own: a second log's rows would collide with the first's.
        other = self._db.execute(
            self._q(
                "SELECT name, log, seq FROM {s}.archive_position WHERE name <> %s AND seq > 0 "
                "ORDER BY name LIMIT 1"
            ),
            (self.name,),
        ).fetchone()
        if other is not None:
            raise EventLogError(
                f"{self._shown}: schema {self.schema} already archives {other[1]} (name {other[0]!r}, "
                f"at seq {other[2]}); one schema holds one log: name another with ?schema=..."
            )
        if row is None:
            self._db.execute(
                self._q("INSERT INTO {s}.archive_position (name, seq, hash, log) VALUES (%s, 0, %s, %s)"),
                (self.name, b"", redact(self.log.url)),
            )
            return 0, b""
        return int(row[0]), bytes(row[1])

    def _check_same_log(self, stored_hash: bytes) -> None:
        if self._pos == 0:
            return
        entry = next(iter(self.log.read(self._pos, self._pos)), None)
        if entry is None or entry.hash != stored_hash:
            there = "no such entry" if entry is None else "a different hash there"
            raise EventLogError(
                f"{self._shown}: the archive is at seq {self._pos} of another log "
                f"({redact(self.log.url)} has {there})"
            )

    def _load_order(self, order_id: int) -> Order | None:
        cols = ", ".join(ORDER_COLUMNS)
        row = self._db.execute(
            self._q(f"SELECT {cols} FROM {{s}}.orders WHERE order_id = %s"), (order_id,)
        ).fetchone()
        return Order(*row) if row else None

    # -- the Subscriber protocol -------------------------------------------------------------------
    def position(self) -> int:
        return self._pos

    def handle(self, batch: Sequence[LoggedEvent]) -> None:
        if not batch:
            return
        with self._lock:
            if batch[0].seq != self._pos + 1:
                raise EventLogError(f"archive at seq {self._pos} was handed seq {batch[0].seq}")
            try:
                ch = self.fold.fold(batch)
                with self._db.transaction():
                    self._write(ch)
            except BaseException:
                # The fold's open orders may describe rows the rollback removed: reload lazily.
                self.fold.orders.clear()
                self._dates.clear()
                raise
            self._pos = ch.last_seq

    # -- writing ---------------------------------------------------------------------------------
    def _partitions(self, dates: set[date]) -> None:
        ddl = sql.SQL("CREATE TABLE IF NOT EXISTS {part} PARTITION OF {s}.{t} FOR VALUES FROM ({a}) TO ({b})")
        for d in sorted(dates - self._dates):
            nxt = date.fromordinal(d.toordinal() + 1)
            for table in PARTITIONED:
                self._db.execute(
                    ddl.format(
                        part=sql.Identifier(self.schema, f"{table}_{d:%Y%m%d}"),
                        s=self._s,
                        t=sql.Identifier(table),
                        a=sql.Literal(d),
                        b=sql.Literal(nxt),
                    )
                )
        self._dates |= dates

    def _copy(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        stmt = sql.SQL("COPY {s}.{t} ({c}) FROM STDIN (FORMAT BINARY)").format(
            s=self._s, t=sql.Identifier(table), c=sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        with self._db.cursor() as cur, cur.copy(stmt) as cp:
            cp.set_types(_TYPES[table])
            for r in rows:
                cp.write_row(r)

    def _write(self, ch: Changes) -> None:
        db = self._db
        self._partitions(ch.dates())
        self._copy("orders", ORDER_COLUMNS, [o.row() for o in ch.new_orders.values()])
        self._copy("executions", EXECUTION_COLUMNS, ch.executions)
        self._copy("trades", TRADE_COLUMNS, list(ch.trades.values()))
        # The rest are plain statements: pipelined, they cost one round trip together.
        with db.pipeline():
            self._write_updates(ch)

    def _write_updates(self, ch: Changes) -> None:
        db = self._db
        if ch.account_events:
            with db.cursor() as cur:
                cur.executemany(
                    self._q(
                        "INSERT INTO {s}.account_events (trade_date, seq, time, account, type, payload) "
                        "VALUES (%s, %s, %s, %s, %s, %s::jsonb)"
                    ),
                    ch.account_events,
                )
        changed = [o for oid, o in ch.changed_orders.items() if oid not in ch.new_orders]
        if changed:
            db.execute(
                self._q(
                    "UPDATE {s}.orders AS o SET price = d.price, qty = d.qty, filled = d.filled, "
                    "leaves = d.leaves, status = d.status, updated_seq = d.updated_seq "
                    "FROM unnest(%s::date[], %s::int8[], %s::int8[], %s::int8[], %s::int8[], %s::int8[], "
                    "%s::text[], %s::int8[]) AS d(trade_date, order_id, price, qty, filled, leaves, status, "
                    "updated_seq) WHERE o.trade_date = d.trade_date AND o.order_id = d.order_id"
                ),
                (
                    [o.trade_date for o in changed], [o.order_id for o in changed],
                    [o.price for o in changed], [o.qty for o in changed], [o.filled for o in changed],
                    [o.leaves for o in changed], [o.status for o in changed],
                    [o.updated_seq for o in changed],
                ),
            )  # fmt: skip
        for fix in ch.trade_fixes:
            db.execute(
                self._q(
                    "UPDATE {s}.trades SET status = %s, price = %s, qty = %s "
                    "WHERE trade_date = %s AND source = %s AND trade_id = %s"
                ),
                (fix.status, fix.price, fix.qty, fix.trade_date, fix.source, fix.trade_id),
            )
        if ch.positions:
            keys = list(ch.positions)
            vals = [ch.positions[k] for k in keys]
            db.execute(
                self._q(
                    "INSERT INTO {s}.positions AS p (trade_date, account, instrument, bought, sold, "
                    "buy_notional, sell_notional, trades) "
                    "SELECT * FROM unnest(%s::date[], %s::text[], %s::text[], %s::int8[], %s::int8[], "
                    "%s::numeric[], %s::numeric[], %s::int8[]) "
                    "ON CONFLICT (trade_date, account, instrument) DO UPDATE SET "
                    "bought = p.bought + EXCLUDED.bought, sold = p.sold + EXCLUDED.sold, "
                    "buy_notional = p.buy_notional + EXCLUDED.buy_notional, "
                    "sell_notional = p.sell_notional + EXCLUDED.sell_notional, "
                    "trades = p.trades + EXCLUDED.trades"
                ),
                (
                    [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys],
                    [v[0] for v in vals], [v[1] for v in vals], [v[2] for v in vals],
                    [v[3] for v in vals], [v[4] for v in vals],
                ),
            )  # fmt: skip
        cur = db.execute(
            self._q(
                "UPDATE {s}.archive_position SET seq = %s, hash = %s, updated_at = now() "
                "WHERE name = %s AND seq = %s RETURNING seq"
            ),
            (ch.last_seq, ch.last_hash, self.name, self._pos),
        )
        if cur.fetchone() is None:  # fetching ends the pipeline's round trip
            raise EventLogError(f"{self._shown}: the archive's position moved under it (another archiver?)")

    def close(self) -> None:
        self._db.close()  # ends the session, and the archiver lock with it
