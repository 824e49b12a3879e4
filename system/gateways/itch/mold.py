"""MoldUDP64 on UDP: a publisher, a retransmission server and a gap-filling client.

A downstream packet is a 20-byte header (session 10 bytes, sequence number of its first message 8,
message count 2) and that many message blocks (2-byte length, message). A count of 0 is a
heartbeat (the sequence is the next to come); 0xFFFF is End of Session (repeated every
heartbeat once the feed has ended). A request to the
retransmission server is a header alone: session, first sequence, count; the answer is a normal
packet holding what exists of that range (a request outside it gets a heartbeat naming the next
sequence; a malformed one is ignored). The answer holds every message of the range that exists,
in as many packets as that takes (up to a bound per request; the client asks again for the rest);
the specification's servers answer one packet per request, which made recovering a burst lost on
a loaded loopback take one round trip per 1,400 bytes.

``Faults`` drops, duplicates and delays packets by a seeded draw per packet (no wall clock), for
tests: the client must still deliver every message once, in order.

A target may be a multicast group, as exchanges publish: the publisher sends each packet once to
the group (out of the interface of the address it is bound to, TTL 1 by default), and any number
of clients that joined it (``MoldClient.start(group=...)``) receive it. A joined client asks for
retransmissions from a socket of its own, so the answer reaches the client that asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import socket
import struct
from collections.abc import Callable, Iterator
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


def is_multicast(host: str) -> bool:
    """Whether ``host`` is an IPv4 multicast group address (a name is not; the feed is IPv4)."""
    try:
        return ipaddress.IPv4Address(host).is_multicast
    except ValueError:
        return False


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


def blocks(
    session: bytes, msgs: list[bytes], first: int, last: int, limit: int = MAX_PAYLOAD
) -> Iterator[tuple[int, bytes]]:
    """Messages ``first..last`` (seq numbers) cut into packets of at most ``limit`` payload bytes,
    as they are needed: ``(seq of the packet's last message, packet)``."""
    seq = first
    cur: list[bytes] = []
    size = 0
    for i in range(first - 1, last):
        msg = msgs[i]
        n = 2 + len(msg)
        if cur and size + n > limit:
            yield seq + len(cur) - 1, pack(session, seq, cur)
            seq += len(cur)
            cur, size = [], 0
        cur.append(msg)
        size += n
    if cur:
        yield seq + len(cur) - 1, pack(session, seq, cur)


def packets(
    session: bytes, msgs: list[bytes], first: int, last: int, limit: int = MAX_PAYLOAD
) -> list[bytes]:
    """Messages ``first..last`` (seq numbers) cut into packets of at most ``limit`` payload bytes."""
    return [p for _, p in blocks(session, msgs, first, last, limit)]


class MoldPublisher(asyncio.DatagramProtocol):
    """Sends ``source``'s messages to ``targets`` as they are made, and serves retransmission
    requests on its own socket (the same one the packets leave from).

    The backlog goes out paced: at most ``burst`` full packets, then the event loop gets a turn
    (a receiver in the same process reads between bursts; one in another process is not starved
    of CPU by a sender spinning on sendto). A retransmission request is answered with every message
    it asks for that exists, in as many packets as that takes, up to ``resend_packets`` packets
    (the client asks again for the rest)."""

    def __init__(
        self,
        source: FeedSource,
        targets: list[tuple[str, int]],
        *,
        session: str = "1",
        faults: Faults | None = None,
        heartbeat: float = 1.0,
        burst: int = 16,
        resend_packets: int = 64,
        ttl: int = 1,
    ) -> None:
        self.source = source
        self.targets = list(targets)
        self.ttl = ttl  # multicast hops: 1 keeps the stream on the host's own network segment
        self.session = session.rjust(10)[:10].encode()
        self.faults = faults or Faults()
        self._rng = random.Random(self.faults.seed)
        self.heartbeat = heartbeat
        self.burst = max(1, burst)
        self.resend_packets = max(1, resend_packets)
        self.sent_seq = 0  # last message sent
        self.transport: asyncio.DatagramTransport | None = None
        self._held: bytes | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.retransmissions = 0  # requests answered with messages
        self.resent = 0  # packets sent in those answers
        self.dropped = 0
        source.listen(lambda _m: self._poke())

    def _poke(self) -> None:
        if self._loop is not None and not self._wake.is_set():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._loop = asyncio.get_running_loop()
        transport, _ = await self._loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))
        self.transport = transport
        sock = transport.get_extra_info("socket")
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        if any(is_multicast(h) for h, _ in self.targets):
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, self.ttl)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)  # subscribers on this host
            if host not in ("", "0.0.0.0"):
                # out of the interface we are bound to (loopback by default), not the default route's
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(host))
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

    def switch(self, source: FeedSource, session: str) -> None:
        """Publish a new feed under a new session (the server was reset): what the old feed still
        had to send goes out now, then its End of Session; sequence numbers start again at 1.
        Retransmission requests of the old session are not answered any more."""
        if self.transport is not None:
            self._flush_held()
            for _, p in blocks(
                self.session, self.source.messages, self.sent_seq + 1, len(self.source.messages)
            ):
                self._send(p)
            self._send(HEADER.pack(self.session, len(self.source.messages) + 1, END))
        self.source = source
        self.session = session.rjust(10)[:10].encode()
        self.sent_seq = 0
        source.listen(lambda _m: self._poke())
        self._poke()

    async def _run(self) -> None:
        while True:
            msgs = self.source.messages
            if self.sent_seq < len(msgs):
                for n, (upto, p) in enumerate(blocks(self.session, msgs, self.sent_seq + 1, len(msgs)), 1):
                    self._send_faulty(p)
                    self.sent_seq = upto
                    if n >= self.burst:
                        break
                await asyncio.sleep(0)  # the receive side (and everything else) gets a turn
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
            if self.sent_seq < len(self.source.messages):
                continue
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
        for _, (_, p) in zip(
            range(self.resend_packets), blocks(self.session, self.source.messages, seq, last), strict=False
        ):
            self.transport.sendto(p, addr)
            self.resent += 1


class MoldClient:
    """Receives a MoldUDP64 stream, asks the retransmission server for gaps and hands ``on_message``
    every message once, in sequence order. ``done`` is set after End of Session with no gap.

    It reads its socket itself, every datagram waiting at each wake-up (asyncio's datagram
    transport takes one per event-loop turn, too few for a feed), with a 4 MB receive buffer where
    the system allows it. Every ``retry`` seconds it asks for every gap it knows of (up to
    ``max_gaps`` ranges), each range in one request. ``faults.loss`` drops that share of the
    packets it receives (only the loss applies on this side).

    A packet of a new session (the server's feed after a reset) starts the count again at 1 and
    calls ``on_session``; packets of a session it has left are ignored."""

    def __init__(
        self,
        on_message: Callable[[bytes], None],
        request_to: tuple[str, int],
        *,
        retry: float = 0.05,
        max_gaps: int = 32,
        faults: Faults | None = None,
        on_session: Callable[[bytes], None] | None = None,
    ) -> None:
        self.on_message = on_message
        self.on_session = on_session
        self._left: set[bytes] = set()  # sessions given up for a newer one
        # loss on the way in, drawn per packet (tests: loss between a real server and this client)
        self._loss = faults.loss if faults is not None else 0.0
        self._rng = random.Random(faults.seed if faults is not None else 0)
        self.dropped = 0
        self.request_to = request_to
        self.retry = retry
        self.max_gaps = max_gaps
        self.next_seq = 1
        self.session: bytes | None = None
        self._pending: dict[int, bytes] = {}
        self._end: int | None = None  # seq after the last message, from End of Session
        self._high = 0  # highest seq known to exist
        self.done = asyncio.Event()
        self._sock: socket.socket | None = None
        self._requests: socket.socket | None = None  # where requests leave and answers come back
        self.group: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.requests = 0
        self.duplicates = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0, *, group: str | None = None) -> int:
        """Listen on ``host:port`` (0: any free port) and return the port; with ``group``, join that
        multicast group on ``port`` through the interface of ``host`` instead (clients of one
        group share the port), and ask for retransmissions from a socket of our own on ``host``."""
        self._loop = loop = asyncio.get_running_loop()
        if group is None:
            sock = self._sock = self._requests = _udp_socket()
            try:
                sock.bind((host, port))
            except OSError:
                self.close()
                raise
        else:
            if not is_multicast(group):
                raise ValueError(f"{group} is not a multicast group address")
            if not 0 < port < 65536:
                raise ValueError(f"a multicast group needs its port, not {port}")
            sock = self._sock = _udp_socket()
            req = self._requests = _udp_socket()
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if hasattr(socket, "SO_REUSEPORT"):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                try:
                    sock.bind((group, port))  # Linux: only this group's datagrams to the port
                except OSError:
                    sock.bind(("", port))
                iface = "0.0.0.0" if host in ("", "0.0.0.0") else host
                mreq = socket.inet_aton(group) + socket.inet_aton(iface)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
                req.bind((host, 0))
            except OSError:
                self.close()  # nothing half-open is left behind
                raise
            self.group = group
            loop.add_reader(req.fileno(), self._readable, req)
        loop.add_reader(sock.fileno(), self._readable, sock)
        self._task = asyncio.create_task(self._gaps())
        return int(sock.getsockname()[1])

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        for sock in {self._sock, self._requests}:
            if sock is None:
                continue
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(sock.fileno())
            sock.close()
        self._sock = self._requests = None

    def _readable(self, sock: socket.socket) -> None:
        if sock.fileno() < 0:
            return
        for _ in range(1024):  # bounded, so one flood cannot hold the loop
            try:
                data, addr = sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # e.g. ICMP port unreachable reported on a later read
            if self._loss and self._rng.random() < self._loss:
                self.dropped += 1
                continue
            self.datagram_received(data, addr)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            session, seq, count, msgs = unpack(data)
        except ValueError:
            return
        if session != self.session:
            if session in self._left:
                return  # a late copy from a session already left
            if self.session is not None:
                self._left.add(self.session)
            self._begin(session)
        if count == END:
            self._end = seq
            self._high = max(self._high, seq - 1)
        elif count == 0:
            self._high = max(self._high, seq - 1)
        nxt = self.next_seq
        if msgs and seq == nxt and not self._pending:
            # in order with nothing waiting: straight through (the common case)
            for msg in msgs:
                self.on_message(msg)
            self.next_seq = nxt + len(msgs)
            self._high = max(self._high, self.next_seq - 1)
        else:
            pending = self._pending
            for i, msg in enumerate(msgs):
                s = seq + i
                if s < nxt or s in pending:
                    self.duplicates += 1
                    continue
                pending[s] = msg
                if s > self._high:
                    self._high = s
            while self.next_seq in pending:
                self.on_message(pending.pop(self.next_seq))
                self.next_seq += 1
        if self._end is not None and self.next_seq >= self._end:
            self.done.set()

    def _begin(self, session: bytes) -> None:
        """A new session (the first, or the server's feed after a reset): sequence numbers start
        again at 1; what was missing of the old one is given up."""
        self.session = session
        self.next_seq = 1
        self._pending.clear()
        self._end = None
        self._high = 0
        self.done.clear()
        if self.on_session is not None:
            self.on_session(session)

    def gaps(self) -> list[tuple[int, int]]:
        """The missing ranges ``(first seq, count)``, lowest first, at most ``max_gaps``."""
        out: list[tuple[int, int]] = []
        if self._high < self.next_seq:
            return out
        start = self.next_seq
        for s in sorted(self._pending):
            if s > start:
                out.append((start, s - start))
                if len(out) >= self.max_gaps:
                    return out
            start = s + 1
        if start <= self._high:
            out.append((start, self._high - start + 1))
        return out[: self.max_gaps]

    async def _gaps(self) -> None:
        """Ask for every missing range every ``retry`` seconds while one exists."""
        while True:
            await asyncio.sleep(self.retry)
            sock = self._requests
            if sock is None or self.session is None:
                continue
            for first, count in self.gaps():
                while count > 0:
                    n = min(count, 0xFFFE)
                    with contextlib.suppress(OSError):
                        sock.sendto(HEADER.pack(self.session, first, n), self.request_to)
                    self.requests += 1
                    first, count = first + n, count - n


def _udp_socket() -> socket.socket:
    """A non-blocking UDP socket with a 4 MB receive buffer where the system allows it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.setblocking(False)
    return sock
