"""Where the replay cache (index and snapshot blobs) lives: never in the log it describes.

A read must not change the evidence, and a log on read-only media must still replay, so the
cache is a file of its own (a Chronex log file used only for its snapshot table):

- ``--cache DIR`` (``cache_dir``): ``DIR/<log name>.<key>.replay``;
- else beside the log, ``<log>.replay``, when the log's folder is writable;
- else the user's cache folder (``$XDG_CACHE_HOME/chronex`` or ``~/.cache/chronex``);
- else (nothing writable) in memory for this process: answers are the same, only slower.

``<key>`` is a hash of the log's absolute path, so logs of the same name in different folders
do not share a file. What is in a cache is never trusted: the index records the log's head seq
and hash and is used only while the log still has that hash at that seq, and each blob is
checked against the sha256 the index lists (``sim.replay.asof`` rebuilds on any mismatch).
A log that is not a file (``memory://``) gets an in-memory cache kept as long as the store.
"""

from __future__ import annotations

import hashlib
import os
import weakref
from pathlib import Path

from system.clock import FixedClock
from system.eventlog import EventLogError, EventStore, open_log

SUFFIX = ".replay"
_open: weakref.WeakKeyDictionary[EventStore, dict[str, EventStore]] = weakref.WeakKeyDictionary()


def log_path(store: EventStore) -> Path | None:
    """The file a SQLite log lives in (None for a log that is not a file)."""
    url = store.url
    if not url.startswith("sqlite:///"):
        return None
    return Path(url[len("sqlite:///") :])


def _user_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chronex"


def _writable_dir(d: Path) -> bool:
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return _writable(d)


def _writable(d: Path) -> bool:
    """We may add files here: the OS lets us, and the folder is not marked read-only (a folder
    without write bits is left alone even by a user, such as root, whom the OS would let in)."""
    try:
        mode = d.stat().st_mode
    except OSError:
        return False
    return bool(mode & 0o222) and os.access(d, os.W_OK | os.X_OK)


def location(store: EventStore, cache_dir: str | Path | None = None) -> Path | None:
    """The cache file for ``store`` (None: keep it in memory). Raises ``ValueError`` naming a
    ``cache_dir`` that cannot hold it."""
    log = log_path(store)
    if cache_dir is not None:
        d = Path(cache_dir)
        if d.exists() and not d.is_dir():
            raise ValueError(f"--cache {cache_dir}: not a folder")
        if not _writable_dir(d):
            raise ValueError(f"--cache {cache_dir}: cannot create or write to this folder")
    if log is None:  # a log on a server (PostgreSQL): the cache is keyed by its URL
        named = f"{_key(store.url)}{SUFFIX}"
        if cache_dir is not None:
            return Path(cache_dir) / named
        user = _user_dir()
        return user / named if _writable_dir(user) else None
    full = log.resolve()
    named = f"{full.name}.{_key(str(full))}{SUFFIX}"
    if cache_dir is not None:
        return Path(cache_dir) / named
    if _writable(full.parent):
        return full.with_name(full.name + SUFFIX)
    user = _user_dir()
    return user / named if _writable_dir(user) else None


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def cache_for(store: EventStore, cache_dir: str | Path | None = None, *, fresh: bool = False) -> EventStore:
    """The store holding ``store``'s replay cache, opened once per log store and folder.

    ``fresh`` discards what it holds (a cache found not to match its log is rebuilt empty)."""
    opened = _open.setdefault(store, {})
    key = str(cache_dir)
    cache = opened.get(key)
    if cache is not None and not fresh:
        return cache
    if cache is not None:
        cache.close()
    path = location(store, cache_dir)
    cache = _open_file(path, fresh) if path is not None else None
    if cache is None:
        cache = open_log("memory://replay-cache", FixedClock(0))
    opened[key] = cache
    return cache


def _open_file(path: Path, fresh: bool) -> EventStore | None:
    """The cache file, created if missing; one that is unreadable or not ours is replaced. None
    if the file cannot be written (the caller keeps the cache in memory instead)."""
    if fresh:
        _remove(path)
    for _ in range(2):
        try:
            return open_log(path, FixedClock(0))
        except EventLogError:
            if not _remove(path):
                return None
        except Exception:  # unwritable after all (permissions, a full disk): stay in memory
            return None
    return None


def _remove(path: Path) -> bool:
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            p.unlink(missing_ok=True)
        except OSError:
            return False
    return True


def close_all() -> None:
    """Close every cache this process opened (tests that delete folders call it)."""
    for opened in list(_open.values()):
        for c in opened.values():
            c.close()
        opened.clear()
