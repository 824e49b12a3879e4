"""One writer per log: an exclusive lock on a sidecar ``<log>.lock`` file, held for a whole run.

``flock`` belongs to the open file, so two processes (or two opens in one process) exclude each
other, and the kernel drops the lock when its holder dies, even by SIGKILL: a crashed writer never
blocks the next one. The file names its holder (pid, host, command) so a refused writer can say
who has the log. Readers never look at it: they are not blocked.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from pathlib import Path

from system.eventlog.store import EventLogError, LogLocked

__all__ = ["LogLocked", "WriterLock", "covered", "lock_path"]

# Logs whose writer lock a run of this process holds (the command that writes them): a store
# appending to one of them leaves the locking to the run. Keyed by resolved path.
_covered: dict[Path, WriterLock] = {}


def lock_path(log: Path) -> Path:
    return log.with_name(log.name + ".lock")


def covered(log: Path) -> bool:
    """Whether a run in this process holds ``log``'s writer lock (so its stores need not)."""
    return log.resolve() in _covered


def _default_command() -> str:
    words = [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv and sys.argv[0] else ["python"]
    text = " ".join(words)
    return text if len(text) <= 200 else text[:197] + "..."


class WriterLock:
    """Held from ``acquire`` to ``release`` (or the end of a ``with`` block)."""

    def __init__(self, log: Path, command: str | None = None, *, for_run: bool = True) -> None:
        """``for_run``: held by the command writing the log, on behalf of every store it opens
        on it; a store's own lock (``for_run=False``) covers that store alone."""
        self.log = log
        self.path = lock_path(log)
        self.command = command if command is not None else _default_command()
        self.for_run = for_run
        self._fd: int | None = None
        self._covers: list[Path] = []

    def acquire(self) -> WriterLock:
        """Take the lock or raise ``LogLocked`` naming the holder; never waits."""
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as e:
                raise EventLogError(f"{self.log}: cannot take the writer lock ({e.strerror})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise LogLocked(f"{self.log}: another writer has this log ({holder})") from None
            # A releasing holder unlinks the file: if ours was unlinked between our open and our
            # lock, we hold a lock nobody else will see. Start again on the file now at the path.
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        info = {"pid": os.getpid(), "host": os.uname().nodename, "command": self.command}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd
        if self.for_run:
            self.also_covers(self.log)
        return self

    def also_covers(self, log: Path) -> None:
        """Let stores writing ``log`` (a temporary file that becomes this log) rely on this lock."""
        key = log.resolve()
        _covered[key] = self
        self._covers.append(key)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        for key in self._covers:
            if _covered.get(key) is self:
                del _covered[key]
        self._covers = []
        # Unlink while still holding the lock, so no one else can be holding this inode.
        self.path.unlink(missing_ok=True)
        os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"pid {info['pid']} on {info['host']}: {info['command']}"
    except (ValueError, KeyError, TypeError, OSError):
        return "holder unknown"  # it is still writing its name
