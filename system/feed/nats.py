"""NATS JetStream fan-out of the log, and subscribers that fail over without missing or
repeating an entry.

JetStream is a feed, not the system of record (it fsyncs periodically; a 2025 Jepsen analysis
found acknowledged writes lost under some faults). So:

- ``NatsPublisher`` (a log ``Subscriber``) publishes every entry, in seq order, to one stream:
  the canonical body as payload, the subject from ``subject_for(stream)``, the log seq as
  ``Nats-Msg-Id`` (JetStream drops a re-publish inside its duplicate window) and the seq, hash
  and previous hash as headers. Its position is the stream's last sequence (one stream per log).
- ``JetStreamFollower`` runs a subscriber of yours (position stored with its effects, as the
  archive does) from a durable consumer. Only the holder of a ``LeaderLock`` consumes; a standby
  waits on the lock, and when it gets it repositions the consumer just after the position the
  subscriber stored, so nothing is missed or applied twice. Each message's hash is checked
  against its body and predecessor; a gap (a seq missing from the feed) is re-read from the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
import threading
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig

from system.eventlog.codec import LoggedEvent, decode_entry
from system.eventlog.store import EventLogError, EventStore
from system.feed.subjects import subject_for
from system.server.subscription import Subscriber

T = TypeVar("T")
log = logging.getLogger("chronex.nats")


async def _quiet_error(e: Exception) -> None:
    """nats-py's default error callback logs every failed attempt with its traceback; what
    matters reaches the caller as one exception (or as a failing subscriber in --status)."""
    log.debug("nats: %r", e)


class _Loop:
    """A private asyncio loop on a thread: nats-py is async, the subscription seam is not."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="nats-loop")
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class NatsPublisher:
    """Publishes the log to the JetStream stream ``stream_name`` (subjects ``<root>.>``)."""

    def __init__(
        self, url: str, *, stream_name: str = "CHRONEX", root: str = "chronex", name: str = "nats-publisher"
    ) -> None:
        self.name = name
        self.stream_name = stream_name
        self.root = root
        self._loop = _Loop()
        try:
            self._nc = self._loop.run(
                nats.connect(url, connect_timeout=5, max_reconnect_attempts=3, error_cb=_quiet_error)
            )
        except Exception as e:
            self._loop.stop()
            raise EventLogError(f"{url}: cannot connect to NATS ({e})") from None
        self._js = self._nc.jetstream()
        self._loop.run(self._ensure_stream())

    async def _ensure_stream(self) -> None:
        try:
            await self._js.stream_info(self.stream_name)
        except nats.js.errors.NotFoundError:
            await self._js.add_stream(
                StreamConfig(name=self.stream_name, subjects=[f"{self.root}.>"], duplicate_window=120.0)
            )

    def position(self) -> int:
        info = self._loop.run(self._js.stream_info(self.stream_name))
        return int(info.state.last_seq)

    def handle(self, batch: Sequence[LoggedEvent]) -> None:
        self._loop.run(self._publish(batch), timeout=120)

    async def _publish(self, batch: Sequence[LoggedEvent]) -> None:
        from system.eventlog.codec import body_encoder

        nc, root = self._nc, self.root
        encode = body_encoder.encode
        last = len(batch) - 1
        for i, ev in enumerate(batch):
            # The canonical body again, byte for byte (the hash proves it on the other side).
            body = encode(
                [ev.seq, ev.stream, ev.stream_version, ev.type, ev.schema_version, ev.valid_time,
                 ev.recorded_time, ev.correlation_id, ev.causation_id, ev.record]
            )  # fmt: skip
            headers = {
                "Nats-Msg-Id": str(ev.seq),
                "Chronex-Seq": str(ev.seq),
                "Chronex-Hash": ev.hash.hex(),
                "Chronex-Prev": ev.prev_hash.hex(),
            }
            subject = subject_for(ev.stream, root)
            if i < last:
                # Fire and forget: one connection delivers in order, and the acknowledged last
                # message of the batch below proves the stream took every one before it.
                await nc.publish(subject, body, headers=headers)
            else:
                ack = await self._js.publish(subject, body, headers=headers)
        want = batch[-1].seq
        have = ack.seq if not ack.duplicate else (await self._js.stream_info(self.stream_name)).state.last_seq
        if have != want and not (ack.duplicate and have >= want):
            raise EventLogError(
                f"JetStream stream {self.stream_name} is at {have} after publishing log seq {want}: "
                "it dropped messages or holds another log's entries"
            )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._loop.run(self._nc.close(), timeout=5)
        self._loop.stop()


class LeaderLock(Protocol):
    def acquire(self) -> None:
        """Block until this instance is the active one."""

    def release(self) -> None: ...


class FileLeaderLock:
    """Active/standby on one host: an exclusive ``flock`` the kernel releases the moment the
    holder dies (kill -9 included). Across hosts use a PostgreSQL advisory lock the same way."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None


class JetStreamFollower:
    """Feeds ``subscriber`` from the stream through the durable consumer ``durable``, while this
    instance holds ``lock``. ``store`` is the log, read for any gap the feed has."""

    def __init__(
        self,
        url: str,
        subscriber: Subscriber,
        lock: LeaderLock,
        store: EventStore,
        *,
        stream_name: str = "CHRONEX",
        durable: str = "follower",
        max_batch: int = 500,
        on_active: Callable[[int], None] | None = None,
    ) -> None:
        self.url = url
        self.subscriber = subscriber
        self.lock = lock
        self.store = store
        self.stream_name = stream_name
        self.durable = durable
        self.max_batch = max_batch
        self.on_active = on_active
        self.gaps_filled = 0

    def run(self, stop: threading.Event) -> None:
        """Wait to be active, then consume until ``stop`` is set."""
        self.lock.acquire()
        try:
            asyncio.run(self._consume(stop))
        finally:
            self.lock.release()

    async def _consume(self, stop: threading.Event) -> None:
        nc = await nats.connect(self.url, connect_timeout=5, error_cb=_quiet_error)
        try:
            js = nc.jetstream()
            start = self.subscriber.position() + 1
            # Reposition the durable consumer just after what the subscriber stored: the last
            # active instance may have died between applying a batch and acknowledging it.
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_consumer(self.stream_name, self.durable)
            await js.add_consumer(
                self.stream_name,
                ConsumerConfig(
                    durable_name=self.durable, deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                    opt_start_seq=start, ack_policy=AckPolicy.EXPLICIT, ack_wait=30.0,
                    max_ack_pending=20_000,
                ),
            )  # fmt: skip
            sub = await js.pull_subscribe_bind(self.durable, self.stream_name)
            if self.on_active is not None:
                self.on_active(start - 1)
            while not stop.is_set():
                try:
                    msgs = await sub.fetch(self.max_batch, timeout=0.2)
                except (TimeoutError, nats.errors.TimeoutError):
                    continue  # nothing new within 0.2 s (nats-py raises either, depending on where it waited)
                self._apply(msgs)
                for m in msgs:
                    await m.ack()
        finally:
            await nc.close()

    def _apply(self, msgs: Sequence[Any]) -> None:
        pos = self.subscriber.position()
        batch: list[LoggedEvent] = []
        for m in msgs:
            seq = int(m.headers["Chronex-Seq"])
            if seq <= pos:
                continue  # applied before (a redelivery): never twice
            if seq > pos + 1:
                # A gap in the feed: the log is the system of record, read the missing entries there.
                if batch:
                    self.subscriber.handle(batch)
                    batch = []
                missing = list(self.store.read(pos + 1, seq - 1))
                if len(missing) != seq - 1 - pos:
                    raise EventLogError(f"the log lacks seq {pos + 1}..{seq - 1} that the feed skipped")
                self.subscriber.handle(missing)
                self.gaps_filled += len(missing)
                pos = seq - 1
            prev, h = bytes.fromhex(m.headers["Chronex-Prev"]), bytes.fromhex(m.headers["Chronex-Hash"])
            if hashlib.sha256(prev + m.data).digest() != h:
                raise EventLogError(f"feed message for seq {seq} does not match its hash")
            ev = decode_entry(m.data, prev, h)
            if ev.seq != seq:
                raise EventLogError(f"feed message says seq {seq} but its body says {ev.seq}")
            batch.append(ev)
            pos = seq
        if batch:
            self.subscriber.handle(batch)
