"""Malformed client input to the feed servers gets the protocol's answer or a clean disconnect,
and the server keeps serving the next client (hypothesis drives the input)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from system.gateways.itch import messages as m
from system.gateways.itch.mold import HEADER, MoldPublisher, unpack
from system.gateways.itch.soup import SoupServer, login_request, packet

_SERVER_TYPES = {b"A", b"J", b"S", b"H", b"Z", b"+"}


class _Source:
    """A feed of a few messages that never ends (so sessions stay open)."""

    def __init__(self) -> None:
        self.messages = [m.system_event(0, i, b"O") for i in range(5)]
        self.ended = False

    def listen(self, fn: Any) -> None:
        pass

    def snapshot(self) -> list[bytes]:
        return [m.end_of_snapshot(6)]


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[int, int]]:
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    ports: list[int] = []
    src = _Source()
    soup = SoupServer(src, session="S1", users={"u": "p"}, heartbeat=0.05, timeout=0.3)
    mold = MoldPublisher(src, [], session="S1", heartbeat=0.05)

    async def start() -> None:
        ports.append(await soup.start())
        ports.append(await mold.start())
        ready.set()

    t = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    t.start()
    assert ready.wait(10)
    yield ports[0], ports[1]

    async def stop() -> None:
        await soup.stop()
        await mold.stop()

    asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    t.join(10)
    loop.close()


def _exchange(port: int, data: bytes) -> bytes:
    """Send ``data``, close our side, read everything until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


def _packets(data: bytes) -> list[bytes]:
    out = []
    i = 0
    while i + 2 <= len(data):
        n = int.from_bytes(data[i : i + 2], "big")
        assert n >= 1 and i + 2 + n <= len(data), "a torn packet from the server"
        out.append(data[i + 2 : i + 2 + n])
        i += 2 + n
    assert i == len(data)
    return out


def _still_serving(port: int) -> None:
    reply = _packets(_exchange(port, login_request("u", "p", "S1", 1)))
    assert reply[0][:1] == b"A" and int(reply[0][11:31]) == 1
    assert [p[1:] for p in reply if p[:1] == b"S"][:5] == _Source().messages


garbage = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda n, body: n.to_bytes(2, "big") + body, st.integers(0, 0xFFFF), st.binary(max_size=60)),
    st.builds(
        login_request,
        st.text(max_size=8),
        st.text(max_size=12),
        st.text(max_size=12),
        st.integers(0, 10**19),
    ),
    st.builds(
        lambda k, b: packet(k, b),
        st.sampled_from([b"L", b"R", b"O", b"U", b"Z", b"S"]),
        st.binary(max_size=50),
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=garbage)
def test_soupbintcp_answers_garbage_by_protocol_or_disconnects(servers: tuple[int, int], data: bytes) -> None:
    """Whatever a client sends, the server answers only with well-formed SoupBinTCP packets (a
    login reply first) or closes the connection, and a good login still works afterwards."""
    port = servers[0]
    reply = _packets(_exchange(port, data))
    assert all(p[:1] in _SERVER_TYPES for p in reply)
    if reply:
        assert reply[0][:1] in (b"A", b"J")
    _still_serving(port)


def test_soupbintcp_login_rejections() -> None:
    """A wrong password is 'not authorised', an unknown session 'session not available'."""
    loop = asyncio.new_event_loop()
    try:

        async def run() -> tuple[bytes, bytes, bytes]:
            srv = SoupServer(_Source(), session="S1", users={"u": "p"}, timeout=0.3)
            port = await srv.start()

            async def one(data: bytes) -> bytes:
                r, w = await asyncio.open_connection("127.0.0.1", port)
                w.write(data)
                out = await r.read(100)
                w.close()
                await w.wait_closed()
                return out

            res = (
                await one(login_request("u", "bad", "S1", 1)),
                await one(login_request("u", "p", "OTHER", 1)),
                await one(login_request("u", "p", "", 0)),
            )
            await srv.stop()
            return res

        bad_pw, bad_session, from_end = loop.run_until_complete(run())
    finally:
        loop.close()
    assert bad_pw == packet(b"J", b"A")
    assert bad_session == packet(b"J", b"S")
    assert from_end.startswith(packet(b"A", b"S1".rjust(10) + b"6".rjust(20)))  # 0: from the end


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.one_of(
        st.binary(max_size=64),
        st.builds(
            lambda s, q, c: HEADER.pack(s, q, c),
            st.sampled_from([b"S1".rjust(10), b"XX".rjust(10)]),
            st.integers(0, 2**64 - 1),
            st.integers(0, 0xFFFF),
        ),
    )
)
def test_mold_retransmission_answers_out_of_range_requests(servers: tuple[int, int], data: bytes) -> None:
    """A retransmission request gets the messages that exist of its range, a heartbeat naming the
    next sequence when none do, or nothing when it is not a request of this session."""
    port = servers[1]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        s.sendto(data, ("127.0.0.1", port))
        try:
            reply, _ = s.recvfrom(65536)
        except TimeoutError:
            reply = None
        valid = len(data) == HEADER.size and HEADER.unpack(data)[0] == b"S1".rjust(10)
        if not valid:
            assert reply is None
            return
        assert reply is not None
        _, seq, count = HEADER.unpack(data)
        session, rseq, rcount, msgs = unpack(reply)
        assert session == b"S1".rjust(10)
        if 1 <= seq <= 5:
            assert rseq == seq and msgs == _Source().messages[seq - 1 : seq - 1 + max(count, 1)]
        else:
            assert (rseq, rcount, msgs) == (6, 0, [])
