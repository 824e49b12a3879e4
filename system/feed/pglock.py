"""Active/standby across hosts: a PostgreSQL session advisory lock as the leader lock.

``PostgresLeaderLock(url, name)`` has the shape of ``FileLeaderLock``: ``acquire`` blocks until
this instance holds the lock named ``name`` in that database, ``release`` lets it go. The lock
belongs to the connection, so it is freed when the holder's session ends: at once on a kill -9
on the database host or a client whose socket the kernel closes; after the TCP keepalive gives up
(about ``keepalive_s`` x 2 seconds here) when the holder's host vanishes. Positions are stored
with the subscriber's effects, so a late-noticed loss never causes a double apply: the new
active starts from the stored position (and ``held()`` lets the active check it still leads).
"""

from __future__ import annotations

import hashlib
import os
import socket

import psycopg

from system.eventlog.postgres import redact, split_url
from system.eventlog.store import EventLogError

_CLASS = 0x43484E4C  # "CHNL": Chronex leader locks (writers use another class id)


def leader_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big", signed=True)


class PostgresLeaderLock:
    """One active instance per ``name`` among every process that can reach the database."""

    def __init__(self, url: str, name: str, *, keepalive_s: int = 2) -> None:
        self.url = url
        self.name = name
        self.key = leader_key(name)
        self.keepalive_s = keepalive_s
        self._db: psycopg.Connection[tuple[object, ...]] | None = None

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        conninfo, _ = split_url(self.url)
        app = f"chronex leader {self.name} pid {os.getpid()} on {socket.gethostname()}"[:63]
        try:
            return psycopg.connect(
                conninfo, autocommit=True, application_name=app, connect_timeout=10,
                keepalives=1, keepalives_idle=self.keepalive_s, keepalives_interval=1, keepalives_count=2,
            )  # fmt: skip
        except (psycopg.Error, UnicodeError) as e:
            if isinstance(e, UnicodeError):  # the host part is not a host name (an empty label)
                why = "not a valid host name"
                raise EventLogError(f"{redact(self.url)}: cannot connect to PostgreSQL ({why})") from None
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise EventLogError(f"{redact(self.url)}: cannot connect to PostgreSQL ({first})") from None

    def acquire(self) -> None:
        """Block until this instance is the active one."""
        if self._db is not None:
            return
        db = self._connect()
        db.execute("SELECT pg_advisory_lock(%s, %s)", (_CLASS, self.key))
        self._db = db

    def held(self) -> bool:
        """Whether the session holding the lock is still alive (a lost connection lost it)."""
        if self._db is None or self._db.closed:
            return False
        try:
            self._db.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def release(self) -> None:
        if self._db is not None:
            self._db.close()  # ending the session frees the lock
            self._db = None
