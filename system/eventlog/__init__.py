"""The event log: typed records, the hash-chained store port, its backends, snapshots and verify.

Open a log by path or URL with ``open_log``; the rest of Chronex never imports a backend directly.
"""

from __future__ import annotations

from pathlib import Path

from system.clock import Clock
from system.eventlog.codec import GENESIS_HASH, LoggedEvent, canonical
from system.eventlog.records import (
    Command,
    Event,
    Record,
    UnknownRecordType,
    lookup,
    record_types,
    register_upcaster,
)
from system.eventlog.store import (
    ANY,
    NO_STREAM,
    EventLogError,
    EventStore,
    Head,
    LogCorrupted,
    NewEvent,
    NotAnEventLog,
    RawEntry,
    Snapshot,
    UnsupportedLogURL,
    WrongExpectedVersion,
)
from system.eventlog.verify import Verdict, verify

__all__ = [
    "ANY",
    "GENESIS_HASH",
    "NO_STREAM",
    "Command",
    "Event",
    "EventLogError",
    "EventStore",
    "Head",
    "LogCorrupted",
    "LoggedEvent",
    "NewEvent",
    "NotAnEventLog",
    "RawEntry",
    "Record",
    "Snapshot",
    "UnknownRecordType",
    "UnsupportedLogURL",
    "Verdict",
    "WrongExpectedVersion",
    "canonical",
    "lookup",
    "open_log",
    "record_types",
    "register_upcaster",
    "verify",
]

# Backends that are planned; naming them gives a clear error instead of "unknown scheme".
_PLANNED = {"postgresql", "postgres", "nats"}


def open_log(url: str | Path, clock: Clock, *, create: bool = True, readonly: bool = False) -> EventStore:
    """Open an event log.

    ``memory://`` is in-process; a plain path or ``sqlite:///path`` is a SQLite file. With
    ``create=False`` the log must already exist. ``readonly=True`` (implies ``create=False``) is
    what read commands use: the file is opened so that nothing can write to it (SQLite
    ``mode=ro``), so a log on read-only media can be read and reading never changes its bytes.
    """
    text = str(url)
    scheme, sep, rest = text.partition("://")
    if not sep:
        from system.eventlog.sqlite import SQLiteEventStore

        return SQLiteEventStore(Path(text), clock, create=create, readonly=readonly)
    scheme = scheme.lower()
    if scheme == "memory":
        from system.eventlog.memory import MemoryEventStore

        return MemoryEventStore(clock, url=text)
    if scheme == "sqlite":
        from system.eventlog.sqlite import SQLiteEventStore

        path = rest[1:] if rest.startswith("/") else rest  # sqlite:///rel or sqlite:////abs
        return SQLiteEventStore(Path(path), clock, create=create, readonly=readonly)
    if scheme in _PLANNED:
        raise UnsupportedLogURL(f"{text}: the {scheme} backend is not available in this release")
    raise UnsupportedLogURL(f"{text}: unknown log URL scheme {scheme!r} (use a path, sqlite:// or memory://)")
