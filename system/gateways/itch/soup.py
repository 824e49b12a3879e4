"""SoupBinTCP 3.0: a sequenced, session-based stream over TCP, server and client.

Packets are a 2-byte big-endian length (of what follows), a type byte and a payload. Client to
server: Login Request ``L`` (username 6, password 10, requested session 10, requested sequence
number 20, alphanumeric fields space-padded), Client Heartbeat ``R``, Logout Request ``O``,
Unsequenced Data ``U``. Server to client: Login Accepted ``A`` (session 10, next sequence 20),
Login Rejected ``J`` (``A`` not authorised, ``S`` session not available), Sequenced Data ``S``,
Server Heartbeat ``H``, End of Session ``Z``, Debug ``+``.

Requested sequence 0 means "from the end": only messages made after the login. A request past the
end starts at the end. Malformed client input (an unknown type, a length over ``MAX_PACKET`` or
zero, anything but a login before login) closes the connection without a reply, as the
specification allows; a wrong user or session gets Login Rejected.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Protocol

MAX_PACKET = 1024  # client packets are small; anything longer is garbage
LOGIN_LEN = 1 + 6 + 10 + 10 + 20


class FeedSource(Protocol):
    """What a feed server serves: the messages so far (seq = index + 1), growing."""

    messages: list[bytes]
    ended: bool

    def listen(self, fn: Callable[[bytes], None]) -> None: ...

    def snapshot(self) -> list[bytes]: ...


def packet(kind: bytes, payload: bytes = b"") -> bytes:
    return (len(payload) + 1).to_bytes(2, "big") + kind + payload


def login_request(user: str, password: str, session: str = "", seq: int = 1) -> bytes:
    return packet(
        b"L",
        user.encode().ljust(6)[:6]
        + password.encode().ljust(10)[:10]
        + session.encode().rjust(10)[:10]
        + str(seq).encode().rjust(20),
    )


class LoginRejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(f"login rejected ({'not authorised' if reason == 'A' else 'session not available'})")
        self.reason = reason


class SoupServer:
    """Serves ``source`` to SoupBinTCP clients; ``glimpse=True`` serves one snapshot per login and
    ends the session (GLIMPSE)."""

    def __init__(
        self,
        source: FeedSource,
        *,
        session: str = "1",
        users: dict[str, str] | None = None,
        heartbeat: float = 1.0,
        timeout: float = 15.0,
        glimpse: bool = False,
        batch: int = 512,
    ) -> None:
        self.source = source
        self.session = session.rjust(10)[:10]
        self.users = users
        self.heartbeat = heartbeat
        self.timeout = timeout
        self.glimpse = glimpse
        self.batch = batch
        self._wakers: set[asyncio.Event] = set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.port = 0
        self.sessions = 0
        source.listen(self._wake)

    def _wake(self, _msg: bytes) -> None:
        loop = self._loop
        if loop is None or not self._wakers:
            return
        for ev in list(self._wakers):
            if not ev.is_set():
                loop.call_soon_threadsafe(ev.set)

    def notify(self) -> None:
        """Wake every session (after ``source.ended`` turned true)."""
        self._wake(b"")

    def switch(self, source: FeedSource, session: str) -> None:
        """Serve a new feed under a new session name (the server was reset). Sessions logged in
        to the old one finish it: its last messages, then End of Session once it has ended."""
        self.source = source
        self.session = session.rjust(10)[:10]
        source.listen(self._wake)
        self.notify()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._serve, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def drained(self, timeout: float) -> bool:
        """Wait (up to ``timeout`` seconds) until every session has ended: after End of Session,
        that is when each client has read it and closed. True if none is left."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while self._tasks and loop.time() < end:
            await asyncio.sleep(0.01)
        return not self._tasks

    async def stop(self) -> None:
        """Stop listening and end every session."""
        if self._server is not None:
            self._server.close()
            tasks = list(self._tasks)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._session(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError, asyncio.CancelledError):
            pass  # a client gone, silent or garbled, or the server stopping: the session ends
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with asyncio.timeout(self.timeout):
            pkt = await _read_packet(reader)
        if pkt is None or pkt[:1] != b"L" or len(pkt) != LOGIN_LEN:
            return  # garbage before login: disconnect
        user = pkt[1:7].decode("ascii", "replace").strip()
        password = pkt[7:17].decode("ascii", "replace").strip()
        session = pkt[17:27].decode("ascii", "replace").strip()
        seq_text = pkt[27:47].decode("ascii", "replace").strip() or "0"
        if not seq_text.isdigit():
            return
        if self.users is not None and self.users.get(user) != password:
            writer.write(packet(b"J", b"A"))
            await writer.drain()
            return
        if session and session != self.session.strip():
            writer.write(packet(b"J", b"S"))
            await writer.drain()
            return
        self.sessions += 1
        if self.glimpse:
            snap = self.source.snapshot()
            writer.write(packet(b"A", self.session.encode() + b"1".rjust(20)))
            writer.write(b"".join(packet(b"S", msg) for msg in snap) + packet(b"Z"))
            await writer.drain()
            async with asyncio.timeout(self.timeout):  # until the client closes (see below)
                while await reader.read(4096):
                    pass
            return
        src = self.source  # a session stays with its source when the server switches (a reset)
        msgs = src.messages
        seq = int(seq_text)
        nxt = len(msgs) + 1 if seq == 0 else min(seq, len(msgs) + 1)
        writer.write(packet(b"A", self.session.encode() + str(nxt).encode().rjust(20)))
        waker = asyncio.Event()
        self._wakers.add(waker)
        done = asyncio.Event()
        rx = asyncio.create_task(self._receive(reader, done))
        try:
            while not done.is_set():
                if nxt <= len(msgs):
                    end = min(len(msgs), nxt + self.batch - 1)
                    writer.write(b"".join([packet(b"S", msgs[i]) for i in range(nxt - 1, end)]))
                    nxt = end + 1
                    await writer.drain()
                    continue
                if src.ended:
                    writer.write(packet(b"Z"))
                    await writer.drain()
                    # Let the client close first: closing with its heartbeats unread would reset
                    # the connection and could destroy data it has not read yet.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(done.wait(), self.timeout)
                    return
                waker.clear()
                if nxt <= len(msgs) or src.ended:
                    continue
                try:
                    await asyncio.wait_for(waker.wait(), self.heartbeat)
                except TimeoutError:
                    writer.write(packet(b"H"))
                    await writer.drain()
        finally:
            self._wakers.discard(waker)
            rx.cancel()
            await asyncio.gather(rx, return_exceptions=True)

    async def _receive(self, reader: asyncio.StreamReader, done: asyncio.Event) -> None:
        """Client heartbeats keep the session; logout, silence or garbage end it."""
        try:
            while True:
                async with asyncio.timeout(self.timeout):
                    pkt = await _read_packet(reader)
                if pkt is None or pkt[:1] not in (b"R", b"U"):
                    return  # logout (O), garbage, a second login, end of stream
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            return
        finally:
            done.set()


async def _read_packet(reader: asyncio.StreamReader, limit: int = MAX_PACKET) -> bytes | None:
    """One packet's type and payload; None for a zero or oversized length."""
    head = await reader.readexactly(2)
    n = int.from_bytes(head, "big")
    if n == 0 or n > limit:
        return None
    return await reader.readexactly(n)


class SoupClient:
    """A SoupBinTCP client: ``await connect(...)``, then ``async for msg in client.messages()``."""

    def __init__(self, heartbeat: float = 1.0) -> None:
        self.heartbeat = heartbeat
        self.session = ""
        self.next_seq = 0
        self.ended = False  # End of Session received
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def connect(
        self, host: str, port: int, user: str = "", password: str = "", session: str = "", seq: int = 1
    ) -> int:
        """Log in; returns the sequence number of the first message to come. Raises LoginRejected."""
        self._reader, self._writer = await asyncio.open_connection(host, port)
        self._writer.write(login_request(user, password, session, seq))
        await self._writer.drain()
        try:
            pkt = await _read_packet(self._reader, 1 << 16)
            if pkt is None:
                raise ConnectionError("bad packet from the server")
            if pkt[:1] == b"J":
                raise LoginRejected(pkt[1:2].decode())
            if pkt[:1] != b"A":
                raise ConnectionError(f"expected Login Accepted, got {pkt[:1]!r}")
        except BaseException:
            await self.close(logout=False)
            raise
        self.session = pkt[1:11].decode().strip()
        self.next_seq = int(pkt[11:31])
        return self.next_seq

    async def messages(self) -> AsyncIterator[bytes]:
        """Sequenced messages until End of Session (or the server closes); then the connection is
        closed. Reads in large chunks and cuts packets out of the buffer (one read, many packets)."""
        assert self._reader is not None and self._writer is not None
        reader, writer = self._reader, self._writer
        loop = asyncio.get_running_loop()
        hb = asyncio.create_task(self._beat())
        buf = bytearray()
        beat = loop.time()
        try:
            while True:
                chunk = await reader.read(1 << 16)
                if not chunk:
                    return
                # A long backlog is read without a pause in which the heartbeat task could run:
                # beat here too, or the server takes the silence for a dead client.
                now = loop.time()
                if now - beat >= self.heartbeat:
                    writer.write(packet(b"R"))
                    beat = now
                buf += chunk
                i, end = 0, len(buf)
                while end - i >= 2:
                    n = (buf[i] << 8) | buf[i + 1]
                    if n == 0:
                        raise ConnectionError("bad packet length from the server")
                    if end - i - 2 < n:
                        break
                    kind = buf[i + 2]
                    if kind == 0x53:  # S: sequenced data
                        self.next_seq += 1
                        yield bytes(buf[i + 3 : i + 2 + n])
                    elif kind == 0x5A:  # Z: end of session
                        self.ended = True
                        return
                    i += 2 + n
                del buf[:i]
        finally:
            hb.cancel()
            await self.close(logout=False)

    async def _beat(self) -> None:
        assert self._writer is not None
        while True:
            await asyncio.sleep(self.heartbeat)
            self._writer.write(packet(b"R"))

    async def close(self, logout: bool = True) -> None:
        if self._writer is not None and not self._writer.is_closing():
            if logout:
                with contextlib.suppress(ConnectionError, OSError):
                    self._writer.write(packet(b"O"))
            self._writer.close()
        if self._writer is not None:
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.wait_closed()
