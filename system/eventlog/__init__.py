"""The event log: typed records, the hash-chained store port, its backends, snapshots and verify.

Open a log by path or URL with ``open_log``; the rest of Chronex never imports a backend directly.
"""

from __future__ import annotations

from collections.abc import Callable
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
    LogDamaged,
    LogLocked,
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
    "LogDamaged",
    "LogLocked",
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
    "drop_log",
    "lookup",
    "open_log",
    "record_types",
    "register_scheme",
    "register_upcaster",
    "schemes",
    "verify",
]

Opener = Callable[[str, str, Clock, bool, bool], EventStore]
"""``opener(url, rest_after_scheme, clock, create, readonly)`` -> a store: how a scheme opens its
backend. ``readonly`` stores refuse to write and never create anything."""

_SCHEMES: dict[str, Opener] = {}
_DROPPERS: dict[str, Callable[[str], None]] = {}

# Backends that are planned; naming them gives a clear error instead of "unknown scheme".
_PLANNED = {"nats"}


def register_scheme(scheme: str, opener: Opener, dropper: Callable[[str], None] | None = None) -> None:
    """Make ``scheme://...`` URLs open with ``opener`` (a backend registers itself here);
    ``dropper(url)`` removes such a log for ``drop_log``."""
    _SCHEMES[scheme.lower()] = opener
    if dropper is not None:
        _DROPPERS[scheme.lower()] = dropper


def schemes() -> list[str]:
    """The URL schemes ``open_log`` accepts, sorted."""
    return sorted(_SCHEMES)


def _open_memory(url: str, rest: str, clock: Clock, create: bool, readonly: bool) -> EventStore:
    from system.eventlog.memory import MemoryEventStore

    if readonly or not create:  # a log to read: one in memory is another process's, or nothing at all
        raise NotAnEventLog(
            f"{url}: a memory log lives only inside the process that writes it; "
            "name a file or a database URL to read"
        )
    return MemoryEventStore(clock, url=url)


def _open_sqlite(url: str, rest: str, clock: Clock, create: bool, readonly: bool) -> EventStore:
    from system.eventlog.sqlite import SQLiteEventStore

    path = rest[1:] if rest.startswith("/") else rest  # sqlite:///rel or sqlite:////abs
    return SQLiteEventStore(Path(path), clock, create=create and not readonly, readonly=readonly)


def _open_postgres(url: str, rest: str, clock: Clock, create: bool, readonly: bool) -> EventStore:
    try:
        from system.eventlog.postgres import PostgresEventStore
    except ImportError:
        raise UnsupportedLogURL(
            f"{url.split('@')[-1]}: the PostgreSQL backend needs psycopg: pip install 'chronex[postgres]'"
        ) from None
    # A PostgreSQL reader takes no lock and, with create=False, creates nothing; only an append
    # takes the writer's advisory lock, and read commands never append.
    return PostgresEventStore(url, clock, create=create and not readonly)


register_scheme("memory", _open_memory)
register_scheme("sqlite", _open_sqlite)


def _drop_postgres(url: str) -> None:
    from system.eventlog.postgres import drop_log as drop

    drop(url)


register_scheme("postgresql", _open_postgres, _drop_postgres)
register_scheme("postgres", _open_postgres, _drop_postgres)


def drop_log(url: str) -> None:
    """Remove the server-side log a URL names (what ``--overwrite`` does to a file). Refused with
    ``LogLocked`` while a writer holds it."""
    scheme = url.partition("://")[0].lower()
    dropper = _DROPPERS.get(scheme)
    if dropper is None:
        raise UnsupportedLogURL(f"{url}: {scheme}:// logs are not dropped through a URL")
    dropper(url)


def open_log(url: str | Path, clock: Clock, *, create: bool = True, readonly: bool = False) -> EventStore:
    """Open an event log.

    ``memory://`` is in-process; a plain path or ``sqlite:///path`` is a SQLite file;
    ``postgresql://user@host/db?schema=name`` is a PostgreSQL schema (see docs/operators.md).
    With ``create=False`` the log must already exist. ``readonly=True`` (implies ``create=False``)
    is what read commands use: nothing can write through the store (SQLite opens the file
    ``mode=ro``), so a log on read-only media can be read and reading never changes its bytes.
    """
    text = str(url)
    scheme, sep, rest = text.partition("://")
    if not sep:
        return _open_sqlite(text, "/" + text, clock, create, readonly)
    scheme = scheme.lower()
    opener = _SCHEMES.get(scheme)
    if opener is not None:
        return opener(text, rest, clock, create, readonly)
    if scheme in _PLANNED:
        raise UnsupportedLogURL(f"{text}: the {scheme} backend is not available in this release")
    known = ", ".join(f"{s}://" for s in schemes())
    raise UnsupportedLogURL(f"{text}: unknown log URL scheme {scheme!r} (use a path or one of {known})")
