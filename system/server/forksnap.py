"""Snapshots taken beside the sequencer: a forked child encodes the state while requests go on.

A snapshot costs in proportion to the state (every resting order, every client id): measured on
the served FIX path, 133 ms of CPU at 60,000 resting orders, and all of it on the sequencer's
thread. Taken inline, every request that arrives meanwhile waits behind it, and the queue it
leaves takes as long again to drain: at 10,000 orders/s that alone put the open-loop p99 in the
hundreds of milliseconds.

``os.fork`` gives a copy-on-write image of the process at the log's head. The child runs the
runtime's own ``snapshot`` against a store that only collects (the same bytes an inline snapshot
stores), writes them to an unlinked temporary file and exits; the sequencer stores them under the
head seq of the fork once the child is done (``poll``), or waits for it on the way out (``wait``).
The parent's store, sockets and threads are never touched by the child (it ends in ``os._exit``).

Not guaranteed: a snapshot whose child is still running when the process is killed is lost (the
restart refolds a longer tail, as if it had not been taken).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import tempfile
import threading
from typing import Any

import msgspec

from system.eventlog.store import Snapshot

log = logging.getLogger("chronex.server")


class _Collector:
    """The store the child's runtime snapshots into: the head of the fork, snapshots kept."""

    def __init__(self, head: Any) -> None:
        self._head = head
        self.saved: list[tuple[str, int, bytes, bytes]] = []

    def head(self) -> Any:
        return self._head

    def save_snapshot(self, snap: Snapshot) -> None:
        self.saved.append((snap.name, snap.seq, snap.state, snap.state_hash))


def available(runtime: Any) -> bool:
    """Whether ``runtime`` can be snapshotted in a child (POSIX, a runtime that snapshots)."""
    return hasattr(os, "fork") and callable(getattr(runtime, "snapshot", None)) and hasattr(runtime, "store")


def _background_child() -> None:
    """Make the child a background job: it must not take CPU from the server it was forked from.

    At normal priority an encoding child competes for a core with the sequencer, the REST thread
    and, on a small machine, the clients, for as long as a large state takes to encode (hundreds of
    ms); SCHED_IDLE (else nice 19) runs it only on a core the server leaves idle. (Under bench/fix.py
    paired single rounds did not separate the two from the noise; the child simply has no claim on
    a core the server needs.) The cycle collector is off for the same reason: a collection walks the
    heap the child shares with its parent, writing to (so copying) the pages it touches, and the
    child exits in ``os._exit`` anyway.
    """
    gc.disable()
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        with contextlib.suppress(OSError):
            os.nice(19)


class ForkedSnapshot:
    """One snapshot being encoded by a child process."""

    def __init__(self, runtime: Any) -> None:
        runtime.flush()  # the state the child copies is the state at the store's head
        store = runtime.store
        head = store.head()
        self.seq: int = head.seq
        self._store = store
        fd, path = tempfile.mkstemp(prefix="chronex-snapshot-")
        os.unlink(path)  # nothing to clean up after a kill -9 of either process
        self._fd = fd
        pid = os.fork()
        if pid == 0:  # the child: encode, write, exit without running any of the parent's cleanup
            code = 1
            try:
                _background_child()
                signal.set_wakeup_fd(-1)  # a signal here must not reach the parent's event loop
                for sig in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(sig, signal.SIG_DFL)
                collector = _Collector(head)
                runtime.store = collector
                runtime.snapshot()
                data = memoryview(msgspec.msgpack.encode(collector.saved))
                while data:
                    data = data[os.write(fd, data) :]
                code = 0
            finally:
                os._exit(code)
        self.pid = pid

    def poll(self) -> bool:
        """Store the snapshot if the child is done; True once it is (stored or failed)."""
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            return False
        self._finish(status)
        return True

    def wait(self, timeout: float = 120.0) -> None:
        """Block until the child is done, then store what it wrote. A child still running after
        ``timeout`` seconds (stuck: a lock another thread held at the fork) is killed and its
        snapshot dropped, so a shutdown never hangs on it; the restart folds a longer tail."""
        done: list[tuple[int, int]] = []
        # A thread does the blocking wait so that the timeout comes from ``join`` (the core reads
        # no clock of its own: tests/unit/test_determinism.py).
        waiter = threading.Thread(target=lambda: done.append(os.waitpid(self.pid, 0)), daemon=True)
        waiter.start()
        waiter.join(timeout)
        if not done:
            log.warning("snapshot at seq %d: its child is stuck after %.0f s; dropped", self.seq, timeout)
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            waiter.join()
            with contextlib.suppress(OSError):
                os.close(self._fd)
            return
        self._finish(done[0][1])

    def _finish(self, status: int) -> None:
        try:
            if os.waitstatus_to_exitcode(status) != 0:
                log.warning("snapshot at seq %d failed in its child process (status %d)", self.seq, status)
                return
            size = os.fstat(self._fd).st_size
            raw = os.pread(self._fd, size, 0)
            for name, seq, state, state_hash in msgspec.msgpack.decode(raw):
                self._store.save_snapshot(Snapshot(name, seq, state, state_hash))
        finally:
            with contextlib.suppress(OSError):
                os.close(self._fd)
