"""Drive an acceptor by hand, without sockets or an event loop: a scripted peer for tests.

```python
clock = FixedClock(t0); timers = FixedClock(0)
acceptor = FixAcceptor(sessions, app, clock, store_factory("memory:"), timer_clock=timers)
peer = Peer(acceptor, sender="TW44", target="ISLD", clock=clock)
peer.connect()
[logon] = peer.send("A", [(98, 0), (108, 30)])
```

``Peer.send`` builds a well-formed message (BodyLength, CheckSum, the next MsgSeqNum, SendingTime
from ``clock``) unless told otherwise, hands it to the acceptor's connection, and returns what the
acceptor wrote back, parsed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from system.clock import Clock
from system.gateways.fix.acceptor import FixAcceptor
from system.gateways.fix.codec import Framer, Garbled, encode_fields, format_timestamp, frame, parse
from system.gateways.fix.message import FixMessage
from system.gateways.fix.transport import FixConnection

Fields = Iterable[tuple[int, str | bytes | int]]


class FakeTransport(asyncio.Transport):
    """Collects what the connection writes; closing only marks it."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("peer", 0) if name == "peername" else default


class Peer:
    """The other side of one connection to ``acceptor`` (we play the initiator)."""

    def __init__(
        self,
        acceptor: FixAcceptor,
        *,
        sender: str = "TW44",
        target: str = "ISLD",
        clock: Clock,
        begin_string: str = "FIX.4.4",
    ) -> None:
        self.acceptor = acceptor
        self.sender = sender
        self.target = target
        self.clock = clock
        self.begin_string = begin_string
        self.next_seq = 1
        self.conn: FixConnection | None = None
        self.transport: FakeTransport | None = None
        self._framer = Framer()
        self._lost = False
        self.garbled: list[Garbled] = []
        acceptor.open()

    def connect(self) -> None:
        conn = self.acceptor.connection()
        transport = FakeTransport()
        conn.connection_made(transport)
        self.conn, self.transport = conn, transport
        self._framer = Framer()
        self._lost = False

    @property
    def closed(self) -> bool:
        return self.transport is None or self.transport.closed

    def build(
        self,
        msg_type: str,
        body: Fields = (),
        *,
        seq: int | None = None,
        header: Fields = (),
        sending_time: bytes | None = None,
        sender: str | None = None,
        target: str | None = None,
    ) -> bytes:
        """A framed message; ``seq`` defaults to the next one (and advances it)."""
        if seq is None:
            seq = self.next_seq
            self.next_seq += 1
        stamp = sending_time if sending_time is not None else format_timestamp(self.clock.now_ns())
        fields: list[tuple[int, str | bytes | int]] = [
            (35, msg_type),
            (34, seq),
            (49, sender if sender is not None else self.sender),
            (52, stamp),
            (56, target if target is not None else self.target),
            *header,
            *body,
        ]
        return frame(self.begin_string.encode(), encode_fields(fields))

    def send(self, msg_type: str, body: Fields = (), **kw: Any) -> list[FixMessage]:
        return self.send_raw(self.build(msg_type, body, **kw))

    def send_raw(self, data: bytes) -> list[FixMessage]:
        """Feed bytes to the acceptor; what it answered, parsed."""
        assert self.conn is not None, "connect() first"
        if not self.closed:
            self.conn.data_received(data)
        return self.received()

    def received(self) -> list[FixMessage]:
        assert self.transport is not None and self.conn is not None
        data = bytes(self.transport.written)
        self.transport.written.clear()
        out: list[FixMessage] = []
        for f in self._framer.feed(data):
            if isinstance(f, Garbled):
                self.garbled.append(f)
            else:
                out.append(parse(f))
        if self.transport.closed and not self._lost:
            self._lost = True
            self.conn.connection_lost(None)
        return out

    def tick(self) -> list[FixMessage]:
        """Run the acceptor's timers once; what it sent."""
        self.acceptor.tick()
        return self.received()

    def logon(self, heartbeat_s: int = 30, *extra: tuple[int, str | bytes | int]) -> list[FixMessage]:
        if self.conn is None or self.closed:
            self.connect()
        return self.send("A", [(98, 0), (108, heartbeat_s), *extra])
