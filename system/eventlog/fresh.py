"""A log made from scratch appears whole or not at all.

A command that makes a log it can make again (``chronex sim``, ``replay --rerun``, ``--rebase``)
writes it under a temporary name beside the target, holding the target's writer lock, and moves it
into place only when its run ends cleanly. A failure (an exception, Ctrl-C) deletes the temporary
file; a kill leaves it behind under its temporary name, where the next writer of that target
clears it. So the target never holds a partial log, and a retry never finds one in its way.

A path and a ``sqlite://`` URL naming the same file are the same target: one lock, one rule
(refuse an existing log unless ``overwrite``). ``memory://`` logs live in the process and need
neither. A live log (a served venue) is written in place under ``WriterLock`` instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from system.clock import Clock
from system.eventlog.lock import WriterLock
from system.eventlog.store import EventLogError, EventStore

# SQLite keeps a log in up to three files.
# With the replay cache a reader of the live file may have made beside it (sim/replay/cache.py):
# it indexes the temporary name, which is gone once the log moves or is dropped.
_SIDECARS = ("", "-wal", "-shm", ".replay")


class LogExists(EventLogError):
    """The target already holds a file and the caller did not ask to replace it."""


def log_file(url: str | Path) -> Path | None:
    """The file a log URL or path names (None for a log that is not a local file)."""
    text = str(url)
    scheme, sep, rest = text.partition("://")
    if not sep:
        return Path(text)
    if scheme.lower() == "sqlite":
        return Path(rest[1:] if rest.startswith("/") else rest)  # sqlite:///rel or sqlite:////abs
    return None


@dataclass(frozen=True)
class FreshLog:
    """Where to write (``url``: the temporary file) and where it lands (``target``)."""

    url: str
    target: str


@contextmanager
def fresh_log(
    target: str | Path,
    *,
    overwrite: bool = False,
    option: str = "--log",
    hint: str = "use --overwrite to replace it",
    replace_empty: bool = False,
    command: str | None = None,
) -> Iterator[FreshLog]:
    """Hold ``target``'s writer lock and give a temporary URL to write the new log at. On a clean
    exit the file moves to ``target`` (replacing it if ``overwrite``); on an exception it is
    deleted. Close the store before the block ends. ``option`` names the target in errors and
    ``hint`` says what to do about an existing one; ``replace_empty`` lets an empty file (from
    ``mktemp``) count as absent.

    Raises ``LogExists``, ``LogLocked`` (naming the other writer) or ``EventLogError`` for a
    target in a missing directory or on a directory.
    """
    text = str(target)
    path = log_file(text)
    if path is None:  # memory:// or a backend with no file: nothing to move
        yield FreshLog(text, text)
        return
    if path.is_dir():
        raise EventLogError(f"{option} {text!r} is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise EventLogError(f"{option} {text!r}: directory {str(parent)!r} does not exist")
    with WriterLock(path, command) as lock:
        if path.exists() and not overwrite and (path.stat().st_size > 0 or not replace_empty):
            raise LogExists(f"{option} {text!r} already exists ({hint})")
        _clear_partials(path)
        tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
        lock.also_covers(tmp)
        try:
            yield FreshLog(str(tmp), text)
        except BaseException:
            _remove(tmp)
            raise
        try:
            _move(tmp, path)
        except OSError as e:
            _remove(tmp)
            why = e.strerror or str(e)
            raise EventLogError(f"{option} {text!r}: cannot move the new log into place ({why})") from None


def _remove(base: Path) -> None:
    for s in _SIDECARS:
        Path(f"{base}{s}").unlink(missing_ok=True)


def _clear_partials(path: Path) -> None:
    """Temporary files of earlier writers of ``path``: we hold its lock, so they are dead."""
    for p in path.parent.glob(f".{path.name}.partial-*"):
        p.unlink(missing_ok=True)


def _move(tmp: Path, path: Path) -> None:
    if not tmp.exists():
        raise EventLogError(f"{path}: the run wrote no log")
    # The old log's WAL must not be applied to the new file.
    for s in ("-wal", "-shm"):
        Path(f"{path}{s}").unlink(missing_ok=True)
    Path(f"{tmp}-shm").unlink(missing_ok=True)
    wal = Path(f"{tmp}-wal")
    if wal.exists():  # a store left open: its WAL belongs with the file
        os.replace(wal, f"{path}-wal")
    os.replace(tmp, path)
    Path(f"{tmp}.replay").unlink(missing_ok=True)
    _sync_dir(path.parent if str(path.parent) else Path("."))


def _sync_dir(d: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def fresh_store(
    target: str | Path,
    clock: Clock,
    *,
    overwrite: bool = False,
    option: str = "--out",
    hint: str = "use --overwrite to replace it",
    replace_empty: bool = False,
) -> Iterator[EventStore]:
    """``fresh_log`` with the store opened on ``clock`` and closed before the move."""
    from system.eventlog import open_log

    with fresh_log(target, overwrite=overwrite, option=option, hint=hint, replace_empty=replace_empty) as fl:
        store = open_log(fl.url, clock)
        try:
            yield store
        finally:
            store.close()
