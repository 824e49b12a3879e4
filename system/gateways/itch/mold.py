"""MoldUDP64 on UDP: a publisher, a retransmission server and a gap-filling client.

A downstream packet is a 20-byte header (session 10 bytes, sequence number of its first message 8,
message count 2) and that many message blocks (2-byte length, message). A count of 0 is a
heartbeat (the sequence is the next to come); 0xFFFF is End of Session (repeated every
heartbeat once the feed has ended). A request to the
retransmission server is a header alone: session, first sequence, count; the answer is a normal
packet holding what exists of that range (a request outside it gets a heartbeat naming the next
sequence; a malformed one is ignored).

``Faults`` drops, duplicates and delays packets by a seeded draw per packet (no wall clock), for
tests: the client must still deliver every message once, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import struct
from collections.abc import Callable
from dataclasses import dataclass

from system.gateways.itch.soup import FeedSource

HEADER = struct.Struct(">10sQH")
END = 0xFFFF
MAX_PAYLOAD = 1400  # stays under a loopback/Ethernet MTU with the IP and UDP headers


@dataclass(frozen=True)
class Faults:
    """Per packet: ``loss`` chance it is dropped, ``duplicate`` chance it is sent twice, ``reorder``
    chance it is held back and sent after the next one. Drawn from ``seed``, so a run repeats."""

    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("loss", "duplicate", "reorder"):
            v = getattr(self, name)
            if not 0.0 <= v < 1.0:
                raise ValueError(f"{name} {v} must be at least 0 and below 1")


def pack(session: bytes, seq: int, msgs: list[bytes]) -> bytes:
    return HEADER.pack(session, seq, len(msgs)) + b"".join(len(m).to_bytes(2, "big") + m for m in msgs)


def unpack(data: bytes) -> tuple[bytes, int, int, list[bytes]]:
    """(session, seq, count, messages); raises ValueError on a malformed packet."""
    if len(data) < HEADER.size:
        raise ValueError("MoldUDP64 packet shorter than its header")
    session, seq, count = HEADER.unpack_from(data)
    msgs: list[bytes] = []
    if count in (0, END):
        return session, seq, count, msgs
    i = HEADER.size
    for _ in range(count):
        if i + 2 > len(data):
            raise ValueError("MoldUDP64 packet truncated")
        n = int.from_bytes(data[i : i + 2], "big")
        if i + 2 + n > len(data):
            raise ValueError("MoldUDP64 message truncated")
        msgs.append(data[i + 2 : i + 2 + n])
        i += 2 + n
    return session, seq, count, msgs


def packets(
    session: bytes, msgs: list[bytes], first: int, last: int, limit: int = MAX_PAYLOAD
) -> list[bytes]:
    """Messages ``first..last`` (seq numbers) cut into packets of at most ``limit`` payload bytes."""
    out: list[bytes] = []
    seq = first
    cur: list[bytes] = []
    size = 0
    for i in range(first - 1, last):
        msg = msgs[i]
        if cur and size + 2 + len(msg) > limit:
            out.append(pack(session, seq, cur))
            seq += len(cur)
            cur, size = [], 0
        cur.append(msg)
        size += 2 + len(msg)
    if cur:
        out.append(pack(session, seq, cur))
    return out


class MoldPublisher(asyncio.DatagramProtocol):
    """Sends ``source``'s messages to ``targets`` as they are made, and serves retransmission
    requests on its own socket (the same one the packets leave from)."""

    def __init__(
        self,
        source: FeedSource,
        targets: list[tuple[str, int]],
        *,
        session: str = "1",
        faults: Faults | None = None,
        heartbeat: float = 1.0,
    ) -> None:
        self.source = source
        self.targets = list(targets)
        self.session = session.rjust(10)[:10].encode()
        self.faults = faults or Faults()
        self._rng = random.Random(self.faults.seed)
        self.heartbeat = heartbeat
        self.sent_seq = 0  # last message sent
        self.transport: asyncio.DatagramTransport | None = None
        self._held: bytes | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.retransmissions = 0
        self.dropped = 0
        source.listen(lambda _m: self._poke())

    def _poke(self) -> None:
        if self._loop is not None and not self._wake.is_set():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._loop = asyncio.get_running_loop()
        transport, _ = await self._loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))
        self.transport = transport
        self._task = asyncio.create_task(self._run())
        return int(transport.get_extra_info("sockname")[1])

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.transport is not None:
            self.transport.close()

    def notify(self) -> None:
        self._poke()

    async def _run(self) -> None:
        msgs = self.source.messages
        while True:
            if self.sent_seq < len(msgs):
                last = len(msgs)
                for p in packets(self.session, msgs, self.sent_seq + 1, last):
                    self._send_faulty(p)
                self.sent_seq = last
                await asyncio.sleep(0)  # let the receive side breathe
                continue
            self._flush_held()
            if self.source.ended:
                # End of Session, repeated every heartbeat (a lost one must not strand a client);
                # the socket stays up for retransmission requests.
                self._send(HEADER.pack(self.session, self.sent_seq + 1, END))
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.heartbeat)
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.heartbeat)
            except TimeoutError:
                self._send(HEADER.pack(self.session, self.sent_seq + 1, 0))

    def _send(self, data: bytes) -> None:
        assert self.transport is not None
        for t in self.targets:
            self.transport.sendto(data, t)

    def _send_faulty(self, data: bytes) -> None:
        f, r = self.faults, self._rng
        if f.loss and r.random() < f.loss:
            self.dropped += 1
            return
        if f.reorder and self._held is None and r.random() < f.reorder:
            self._held = data
            return
        self._send(data)
        if f.duplicate and r.random() < f.duplicate:
            self._send(data)
        self._flush_held()

    def _flush_held(self) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            self._send(held)

    # -- retransmission ------------------------------------------------------------------------
    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) != HEADER.size or self.transport is None:
            return  # not a request
        session, seq, count = HEADER.unpack(data)
        if session != self.session:
            return
        last = min(self.sent_seq, seq + max(count, 1) - 1)
        if seq < 1 or seq > last:
            self.transport.sendto(HEADER.pack(self.session, self.sent_seq + 1, 0), addr)
            return
        self.retransmissions += 1
        # one packet per request, as the specification says; the client asks again for the rest
        p = packets(self.session, self.source.messages, seq, last)[0]
        self.transport.sendto(p, addr)


class MoldClient(asyncio.DatagramProtocol):
    """Receives a MoldUDP64 stream, asks the retransmission server for gaps and hands ``on_message``
    every message once, in sequence order. ``done`` is set after End of Session with no gap."""

    def __init__(
        self, on_message: Callable[[bytes], None], request_to: tuple[str, int], *, retry: float = 0.05
    ) -> None:
        self.on_message = on_message
        self.request_to = request_to
        self.retry = retry
        self.next_seq = 1
        self.session: bytes | None = None
        self._pending: dict[int, bytes] = {}
        self._end: int | None = None  # seq after the last message, from End of Session
        self._high = 0  # highest seq known to exist
        self.done = asyncio.Event()
        self.transport: asyncio.DatagramTransport | None = None
        self.requests = 0
        self.duplicates = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))
        self.transport = transport
        self._task = asyncio.create_task(self._gaps())
        return int(transport.get_extra_info("sockname")[1])

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self.transport is not None:
            self.transport.close()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            session, seq, count, msgs = unpack(data)
        except ValueError:
            return
        if self.session is None:
            self.session = session
        elif session != self.session:
            return
        if count == END:
            self._end = seq
            self._high = max(self._high, seq - 1)
        elif count == 0:
            self._high = max(self._high, seq - 1)
        for i, msg in enumerate(msgs):
            s = seq + i
            if s < self.next_seq or s in self._pending:
                self.duplicates += 1
                continue
            self._pending[s] = msg
            self._high = max(self._high, s)
        pending = self._pending
        while self.next_seq in pending:
            self.on_message(pending.pop(self.next_seq))
            self.next_seq += 1
        if self._end is not None and self.next_seq >= self._end:
            self.done.set()

    async def _gaps(self) -> None:
        """Ask for the first missing range every ``retry`` seconds while one exists."""
        while True:
            await asyncio.sleep(self.retry)
            if self.transport is None or self.session is None:
                continue
            if self._high >= self.next_seq:
                upto = min([s for s in self._pending], default=self._high + 1) - 1
                count = max(1, min(upto - self.next_seq + 1, 0xFFFE))
                self.transport.sendto(HEADER.pack(self.session, self.next_seq, count), self.request_to)
                self.requests += 1
