"""A subscriber that talks to a service (archive, NATS, Redis) run off the sequencer's loop.

The sequencer hands every appended batch to its subscriptions in line; a subscriber that waits
on PostgreSQL or a broker would hold up every reply. ``Background(inner, open_reader)`` is the
subscriber the sequencer sees: ``handle`` only queues the batch, and a thread of its own delivers
to ``inner`` through a ``Subscription`` over a reader of the same log. So ``inner`` keeps the
subscription contract (S1-S4): it starts from its own stored position (the thread first reads
whatever the log holds after it), gets each entry once in order, and a gap is read from the log.

If ``inner`` fails (the service is down), the thread keeps the undelivered entries, records the
error for ``chronex serve --status`` and retries every ``retry_s`` seconds; the log goes on being
appended meanwhile, and nothing is lost since ``inner`` resumes from its stored position.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from system.eventlog.codec import LoggedEvent
from system.eventlog.store import EventStore
from system.server.subscription import Subscriber, Subscription


class Background:
    """Runs ``inner`` on its own thread; ``position`` is what the sequencer has handed over."""

    def __init__(
        self,
        inner: Subscriber,
        open_reader: Callable[[], EventStore],
        head: int,
        *,
        retry_s: float = 1.0,
        max_batch: int = 1000,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self._open_reader = open_reader
        self._accepted = head
        self._pending: list[LoggedEvent] = []
        self._cond = threading.Condition()
        self._stop = False
        self.retry_s = retry_s
        self.max_batch = max_batch
        self.applied = 0  # inner's position as last seen by the thread
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"subscriber-{self.name}", daemon=True)
        self._thread.start()

    # -- the sequencer's side (its loop thread) ---------------------------------------------------
    def position(self) -> int:
        return self._accepted

    def handle(self, batch: Sequence[LoggedEvent]) -> None:
        with self._cond:
            self._pending.extend(batch)
            self._accepted = batch[-1].seq
            self._cond.notify()

    def lag(self, head: int) -> int:
        """Entries of the log ``inner`` has not applied yet."""
        return max(0, head - self.applied)

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued (within ``timeout``), then stop the thread and close ``inner``."""
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout)
        close = getattr(self.inner, "close", None)
        if close is not None and not self._thread.is_alive():
            close()

    # -- the thread --------------------------------------------------------------------------------
    def _run(self) -> None:
        reader: EventStore | None = None
        sub: Subscription | None = None
        caught_up = False
        while True:
            with self._cond:
                while not self._pending and not self._stop and caught_up and self.error is None:
                    self._cond.wait()
                batch, self._pending = self._pending, []
                stopping = self._stop
            try:
                if sub is None:
                    reader = self._open_reader()
                    sub = Subscription(reader, self.inner, max_batch=self.max_batch)
                if not caught_up:
                    sub.poll()  # whatever the log held after inner's stored position
                    caught_up = True
                if batch:
                    sub.deliver(batch)
                self.applied = self.inner.position()
                self.error = None
            except Exception as e:  # the service is down: keep the entries, retry
                self.error = f"{type(e).__name__}: {e}".splitlines()[0]
                with self._cond:
                    self._pending[:0] = batch
                    if self._stop:
                        break
                    self._cond.wait(self.retry_s)
                continue
            if stopping:
                with self._cond:
                    if not self._pending:
                        break
        if reader is not None:
            reader.close()
