"""The REST gateway's HTTP protocol answers plain hot GETs itself (``hotpath``), with the very
bytes uvicorn sends for the same answer; every request off that plain shape takes uvicorn's path
unchanged; a connection kept alive by hot answers is still closed once idle."""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any

import pytest

from system.gateways.rest.front import Front
from system.gateways.rest.hotpath import HotPathProtocol
from tests.integration.rest_kit import INST, KEYS, listening, order

HOT = [
    f"/v1/books/{INST}/l1",
    f"/v1/books/{INST}/l2",
    f"/v1/books/{INST}/l2?depth=1",
    f"/v1/books/{INST}/l2?",
    "/v1/accounts/A/positions",
    "/v1/accounts/B/positions",
]
_DATE = re.compile(rb"\r\ndate: [^\r]*\r\n")


class Conn:
    """One raw keep-alive connection: requests written as given, responses read by their
    content-length."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Conn:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, *parts: bytes) -> None:
        for p in parts:  # each part its own write (a request split across reads)
            self.writer.write(p)
            await self.writer.drain()
            await asyncio.sleep(0.01)

    async def response(self, *, body: bool = True) -> bytes:
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 30)
        m = re.search(rb"\r\ncontent-length: (\d+)\r\n", head)
        assert m is not None, head
        if not body:  # the answer to a HEAD
            return head
        return head + await asyncio.wait_for(self.reader.readexactly(int(m[1])), 30)

    async def closed(self) -> bool:
        return await asyncio.wait_for(self.reader.read(1), 30) == b""

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


def get(path: str, key: str | None, *extra: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: rest"]
    if key is not None:
        lines.append(f"X-API-Key: {key}")
    return ("\r\n".join([*lines, *extra]) + "\r\n\r\n").encode()


def undated(response: bytes) -> bytes:
    """The response with its date header's value blanked (it moves once a second)."""
    assert len(_DATE.findall(response)) == 1, response
    return _DATE.sub(b"\r\ndate: -\r\n", response)


def front_of(gw: Any) -> Front:
    assert gw._uvicorn is not None
    front: Front = gw._uvicorn.config.app
    return front


def test_hot_answers_are_uvicorns_bytes() -> None:
    """After an order flow, every role's hot queries answered by the protocol equal, byte for byte
    (the date aside), the answers uvicorn sends for the same requests through its request cycle
    (forced there by a ``Content-Length: 0`` it frames); ``Connection: keep-alive`` and a key
    header in any case still take the hot path."""

    async def main() -> None:
        async with listening(thread=True) as gw:
            c = await Conn.open(gw.port)
            for account, role, side, px in (("A", "trader", "BUY", "999.5"), ("B", "other", "SELL", "999.5")):
                body = str(order(account, side, "10", px)).replace("'", '"').encode()
                await c.send(
                    f"POST /v1/orders HTTP/1.1\r\nHost: rest\r\nX-API-Key: {KEYS[role]}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                assert (await c.response()).startswith(b"HTTP/1.1 201 ")
            await c.send(get(f"/v1/books/{INST}/l1", KEYS["trader"]))  # a 201's reply: after its fold
            await c.response()
            front = front_of(gw)
            early = front.served_early
            hot = 0
            for role in KEYS:
                for path in HOT:
                    await c.send(get(path, KEYS[role], "Content-Length: 0"))
                    want = await c.response()
                    await c.send(get(path, KEYS[role]))
                    got = await c.response()
                    assert undated(got) == undated(want), (role, path)
                    hot += want.startswith(b"HTTP/1.1 200 ")
            assert front.served_early - early == hot == len(KEYS) * len(HOT) - 2
            await c.send(get(HOT[0], None, f"x-API-KEY: {KEYS['auditor']}", "Connection: Keep-Alive"))
            assert (await c.response()).startswith(b"HTTP/1.1 200 ")
            assert front.served_early - early == hot + 1
            await c.close()

    asyncio.run(main())


def test_requests_off_the_plain_shape_take_uvicorns_path() -> None:
    """A request split across reads, two in one read, HTTP/1.0, HEAD, a percent-encoded path,
    ``Connection: close``, a repeated or missing key, an unknown instrument or a bad depth: none is
    answered by the protocol, and each gets uvicorn's (and the application's) answer."""

    async def main() -> None:
        async with listening(thread=False) as gw:
            front = front_of(gw)
            key = KEYS["trader"]
            l2 = f"/v1/books/{INST}/l2"
            c = await Conn.open(gw.port)
            whole = get(l2, key)
            await c.send(whole[:20], whole[20:])
            split = await c.response()
            await c.send(whole + get("/v1/accounts/A/positions", key))
            first, second = await c.response(), await c.response()
            assert b'"bids"' in first and second.endswith(b"[]")
            assert undated(first) == undated(split)
            await c.close()
            cases = [
                (get(l2, key).replace(b"HTTP/1.1", b"HTTP/1.0"), b"HTTP/1.1 200 "),
                (get(l2.replace(":", "%3A"), key), b"HTTP/1.1 200 "),
                (get(l2, key, f"X-API-Key: {key}"), b"HTTP/1.1 200 "),
                (get(l2, key, " folded"), b"HTTP/1.1 "),
                (get(l2, None), b"HTTP/1.1 401 "),
                (get(l2, "nope"), b"HTTP/1.1 401 "),
                (get("/v1/accounts/B/positions", key), b"HTTP/1.1 403 "),
                (get("/v1/books/XTKS:9999/l2", key), b"HTTP/1.1 404 "),
                (get(l2 + "?depth=0", key), b"HTTP/1.1 422 "),
                (get(l2 + "?depth=1&depth=2", key), b"HTTP/1.1 "),
                (get(l2 + "#frag", key), b"HTTP/1.1 "),
            ]
            for request, status in cases:
                c = await Conn.open(gw.port)
                await c.send(request)
                assert (await c.response()).startswith(status), request
                await c.close()
            c = await Conn.open(gw.port)
            await c.send(get(l2, key).replace(b"GET", b"HEAD", 1))
            assert (await c.response(body=False)).startswith(b"HTTP/1.1 405 ")  # the application's
            await c.close()
            c = await Conn.open(gw.port)
            await c.send(get(l2, key, "Connection: close"))
            assert b"\r\nconnection: close\r\n" in await c.response()
            assert await c.closed()
            await c.close()
            assert front.served_early == 0
            assert front.served_here > 0  # the hot ones among them, by the front on uvicorn's path

    asyncio.run(main())


def test_a_connection_kept_alive_by_hot_answers_closes_once_idle() -> None:
    """The keep-alive timer is not re-armed per hot answer: when it fires it re-arms itself for the
    time left after the last hot answer, and closes the connection once that has passed."""

    async def main() -> None:
        async with listening(thread=False) as gw:
            c = await Conn.open(gw.port)
            await c.send(get(f"/v1/books/{INST}/l1", KEYS["auditor"]))
            await c.response()
            assert gw._uvicorn is not None
            (proto,) = gw._uvicorn.server_state.connections
            assert isinstance(proto, HotPathProtocol) and proto.timeout_keep_alive_task is not None
            loop = asyncio.get_running_loop()
            proto._answered_at = loop.time() + 60  # as if answered a minute from now
            proto.timeout_keep_alive_handler()
            task = proto.timeout_keep_alive_task
            assert task is not None and task.when() == proto._answered_at + proto.timeout_keep_alive
            assert not proto.transport.is_closing()
            task.cancel()
            proto._answered_at = loop.time() - proto.timeout_keep_alive
            proto.timeout_keep_alive_handler()
            assert proto.transport.is_closing()
            assert await c.closed()
            await c.close()

    asyncio.run(main())


def test_the_hot_path_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """CHRONEX_REST_HOTPATH=0 serves through uvicorn's own protocol, answers unchanged."""

    async def main() -> None:
        async with listening(thread=False) as gw:
            c = await Conn.open(gw.port)
            await c.send(get(f"/v1/books/{INST}/l2", KEYS["auditor"]))
            assert (await c.response()).startswith(b"HTTP/1.1 200 ")
            await c.close()
            assert front_of(gw).served_early == 0 and front_of(gw).served_here == 1

    monkeypatch.setenv("CHRONEX_REST_HOTPATH", "0")
    asyncio.run(main())
