"""Recording a mock's traffic into a Chronex log, and playing it back (``--replay``).

``LogRecorder`` is a ``Recorder``: each call appends one ``TrafficRecorded`` (system/traffic.py)
stamped with the mock's clock, so the recording is an ordinary hash-chained log that ``chronex log
verify`` and ``log show`` read. Appends are grouped (every ``batch`` messages, and on ``flush``).

Links are recorded by name (``fix/1``: the first FIX connection the mock saw), and bytes as they
crossed the socket (reads as they arrived, writes as they were flushed), so a replay is byte-exact.

Playback (``replay``):

- ``accept`` (a server mock: the exchange, the OEMS): listen; the n-th connection plays the n-th
  recorded link: each recorded ``out`` is sent once the client has sent as many bytes as were
  recorded ``in`` before it. A client that sends what the recorded client sent gets back exactly
  what the mock answered.
- ``dial`` (a client mock: a market maker): connect to the target and send the recorded ``out``
  bytes of each link in order, spaced as the recording's valid times were (``speed`` x faster),
  waiting for the recorded ``in`` byte counts with a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from mocks.base import MockError
from system.clock import NS_PER_SECOND, Clock
from system.eventlog import EventStore, NewEvent, open_log
from system.runtime.manifest import RunFinished
from system.traffic import TrafficRecorded

__all__ = ["LogRecorder", "Traffic", "read_traffic", "replay"]


class LogRecorder:
    """Appends every message to the log at ``url`` (created when missing)."""

    def __init__(self, url: str, clock: Clock, *, batch: int = 256) -> None:
        self.url = url
        self.clock = clock
        self.batch = batch
        try:
            self.store: EventStore = open_log(url, clock)
        except Exception as e:  # a bad URL, a file that is not a log: one line for the CLI
            raise MockError(f"--record {url!r}: {e}") from None
        self._pending: list[NewEvent] = []
        self.count = 0

    def __call__(self, mock: str, link: str, direction: str, payload: bytes) -> None:
        rec = TrafficRecorded(mock=mock, link=link, direction=direction, payload=bytes(payload))
        self._pending.append(NewEvent(rec, self.clock.now_ns()))
        self.count += 1
        if len(self._pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self.store.append(batch)

    def close(self) -> None:
        """Flush and end the recording with ``RunFinished``, so ``chronex log verify`` calls a
        cleanly stopped recording complete and a killed one (no RunFinished) incomplete."""
        self.flush()
        entries = self.store.head().seq
        self.store.append([NewEvent(RunFinished(entries=entries, commands=0), self.clock.now_ns())])
        self.store.close()


@dataclass(frozen=True, slots=True)
class Traffic:
    link: str
    direction: str
    payload: bytes
    t: int


def read_traffic(url: str, mock: str, clock: Clock) -> list[Traffic]:
    """The recorded messages of ``mock`` in the log at ``url``, in log order."""
    try:
        store = open_log(url, clock, create=False)
    except Exception as e:
        raise MockError(f"--replay {url!r}: {e}") from None
    try:
        out = [
            Traffic(r.link, r.direction, r.payload, ev.valid_time)
            for ev in store.read(1)
            if isinstance(r := ev.record, TrafficRecorded) and r.mock == mock
        ]
    finally:
        store.close()
    if not out:
        raise MockError(f"--replay {url!r}: the log holds no traffic of mock {mock!r}")
    return out


def _links(traffic: list[Traffic]) -> list[list[Traffic]]:
    by: dict[str, list[Traffic]] = {}
    for t in traffic:
        by.setdefault(t.link, []).append(t)
    return list(by.values())


class _Playback(asyncio.Protocol):
    """One accepted connection answering as the recorded link did."""

    def __init__(self, script: list[Traffic], done: Callable[[], None]) -> None:
        self.script = script
        self.i = 0
        self.received = 0
        self.expected = 0
        self.done = done
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._advance()

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        self._advance()

    def _advance(self) -> None:
        assert self.transport is not None
        while self.i < len(self.script):
            t = self.script[self.i]
            if t.direction == "in":
                if self.received < self.expected + len(t.payload):
                    return
                self.expected += len(t.payload)
            else:
                self.transport.write(t.payload)
            self.i += 1
        # The whole recording is played: the recorded mock's side ends here.
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.done()


async def replay(
    traffic: list[Traffic],
    role: str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ready: Callable[[int], None] | None = None,
    stop: asyncio.Event | None = None,
    speed: float = 0.0,
    timeout_s: float = 10.0,
) -> int:
    """Play ``traffic`` back as ``role`` (see the module docstring); returns the links played.
    ``ready`` gets the bound port (accept). ``speed`` 0 sends dial traffic without pauses."""
    links = _links(traffic)
    if role == "accept":
        left = iter(links)
        finished = asyncio.Event()
        played = 0

        def one_done() -> None:
            nonlocal played
            played += 1
            if played == len(links):
                finished.set()

        def factory() -> asyncio.Protocol:
            script = next(left, None)
            return _Playback(script or [], one_done)

        loop = asyncio.get_running_loop()
        server = await loop.create_server(factory, host, port)
        if ready is not None:
            ready(server.sockets[0].getsockname()[1])
        waits = [asyncio.ensure_future(finished.wait())]
        if stop is not None:
            waits.append(asyncio.ensure_future(stop.wait()))
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for w in waits:
            w.cancel()
        server.close()
        await server.wait_closed()
        return played
    if role != "dial":
        raise MockError(f"replay role {role!r} is not accept or dial")
    for script in links:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            got = 0
            want = 0
            last_t = script[0].t
            for t in script:
                if speed > 0 and t.t > last_t:
                    await asyncio.sleep((t.t - last_t) / NS_PER_SECOND / speed)
                last_t = t.t
                if t.direction == "out":
                    writer.write(t.payload)
                    await writer.drain()
                    continue
                want += len(t.payload)
                # A live peer's answers need not have the recorded lengths: wait for them a
                # while, then go on with the script.
                with contextlib.suppress(TimeoutError):
                    while got < want:
                        chunk = await asyncio.wait_for(reader.read(65536), timeout_s)
                        if not chunk:
                            break
                        got += len(chunk)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
    return len(links)
