"""Outputs appear whole or not at all: a worker writes under ``<dir>/.partial/`` (the file name
carries its pid, so two attempts at one day never share a file) and moves the finished file into
place with one ``os.replace``. A killed or retried attempt leaves at most a stray partial file,
never half a log or two copies.

(A local helper: the event-log package may grow a shared one; see docs/fleets.md.)
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

PARTIAL = ".partial"
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def partial_path(out_dir: Path, name: str) -> Path:
    """Where this process writes ``name`` before it is complete (stale copies removed)."""
    folder = out_dir / PARTIAL
    folder.mkdir(parents=True, exist_ok=True)
    stem, dot, ext = name.rpartition(".")
    path = folder / (f"{stem}.{os.getpid()}.{ext}" if dot else f"{name}.{os.getpid()}")
    discard(path)
    return path


def discard(path: Path) -> None:
    """Remove a partial file and the side files SQLite may have left beside it."""
    for suffix in ("", *_SQLITE_SIDE_FILES):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def publish(tmp: Path, final: Path) -> None:
    """Move the complete file ``tmp`` to ``final`` atomically (same filesystem), durably."""
    leftovers = [s for s in _SQLITE_SIDE_FILES if Path(f"{tmp}{s}").exists()]
    if leftovers:
        # A WAL beside the file means the store is still open or was not checkpointed: moving
        # the main file alone would publish an incomplete log.
        raise RuntimeError(f"{tmp} still has {', '.join(leftovers)} beside it: not closed cleanly")
    _fsync(tmp)
    os.replace(tmp, final)
    _fsync_dir(final.parent)


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a partial file and a move."""
    tmp = partial_path(path.parent, path.name)
    tmp.write_text(text, encoding="utf-8")
    publish(tmp, path)


def clear_partials(out_dir: Path) -> None:
    """Drop what attempts that never finished left behind (only call when no task is running)."""
    shutil.rmtree(out_dir / PARTIAL, ignore_errors=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # some filesystems cannot fsync a directory
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
