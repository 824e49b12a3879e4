"""WAL checkpoints beside the writer, so no append pays for a whole one.

SQLite's automatic checkpoint runs inside the commit that crosses its threshold (1,000 pages):
that commit copies the WAL into the database and, at ``synchronous=NORMAL``, fsyncs both, which
was about a fifth of an unbatched append's mean cost and all of its tail (a 3-4 ms commit every
~170). The writer turns the automatic checkpoint off and reports the pages it writes (``due``):

- every ``pages`` pages, a thread with a connection of its own runs a PASSIVE checkpoint: it
  copies and fsyncs without blocking the writer (the sqlite3 module releases the GIL inside
  SQLite, so this runs on another core);
- a PASSIVE checkpoint beside a writer that keeps appending never finishes (new frames arrive
  while it copies), and SQLite starts the WAL file over only once every frame is copied. So every
  ``restart_pages`` pages the writer checkpoints itself, between two appends: little is left to
  copy by then, and its next commit starts the WAL from the beginning, so the file stays bounded.

A checkpoint is not needed for durability (a commit is durable once it is in the WAL); a process
killed before one only leaves a longer WAL, which the next open reads as usual.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

log = logging.getLogger("chronex.eventlog")

PAGES = 1000  # SQLite's own wal_autocheckpoint default
RESTART_PAGES = 16 * PAGES  # ~64 MiB of WAL at most between two restarts


class Checkpointer:
    """A daemon thread that checkpoints the WAL of one database file when told to."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        pages: int | None = None,
        restart_pages: int | None = None,
    ) -> None:
        self._connect = connect
        self._pages = self._left = PAGES if pages is None else pages
        self._restart_pages = self._to_restart = RESTART_PAGES if restart_pages is None else restart_pages
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="chronex-wal-checkpoint", daemon=True)
        self._thread.start()

    def due(self, pages: int) -> bool:
        """Count ``pages`` written to the WAL. True when the writer should checkpoint now
        (``restart``), between two of its appends."""
        self._left -= pages
        if self._left <= 0:
            self._left = self._pages
            self._wake.set()
        self._to_restart -= pages
        return self._to_restart <= 0

    def restart(self, db: sqlite3.Connection) -> None:
        """The writer's own checkpoint (on its connection): finishes what the thread copied."""
        try:
            busy, frames, copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as e:
            log.debug("WAL checkpoint skipped: %s", e)
            return
        if not busy and frames == copied:
            self._to_restart = self._restart_pages
        else:
            # The thread was checkpointing, or a reader holds an old snapshot of the WAL: try again
            # a little later, not after every append while that reader lasts.
            self._to_restart = self._pages

    def _run(self) -> None:
        try:
            db = self._connect()
        except Exception as e:  # the file went (a failed run removed it) or cannot be read
            # No thread checkpoints then; the writer's own restarts still bound the WAL.
            log.debug("WAL checkpoint thread not started: %s", e)
            return
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stop:
                    return
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as e:  # a busy or closing file: the next one catches up
                    log.debug("WAL checkpoint skipped: %s", e)
        finally:
            db.close()

    def close(self) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join()
