"""uvicorn under a mock: bind (port 0 asks for a free one), start, stop, for every mock whose
wire is HTTP or WebSocket. Signals stay with whoever runs the loop (``chronex mock``)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn
from fastapi.responses import JSONResponse

from mocks.base import MockContext, MockError

__all__ = ["AsgiServer", "HttpMock", "problem"]


class _Uvicorn(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        return None

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class AsgiServer:
    def __init__(self, name: str, app: Any, host: str, port: int) -> None:
        self.name, self.app, self.host, self.port = name, app, host, port
        self._server: _Uvicorn | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted sockets inherit it: without, a response's headers and body go as two segments
        # and the body waits out the client's delayed ACK (~40 ms a request on loopback).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as e:
            sock.close()
            raise MockError(
                f"mock {self.name!r}: cannot listen on {self.host}:{self.port}: {e.strerror}"
            ) from None
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", lifespan="off", access_log=False, ws="websockets-sansio"
        )
        self._server = _Uvicorn(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 10)
        self._server = self._task = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


class HttpMock:
    """A mock whose whole wire is one ASGI app: ``serve`` it from ``__init__``; start, stop and
    its REST endpoint follow (a mock with more endpoints extends ``endpoints``)."""

    name: str
    app: Any
    http: AsgiServer

    def serve(self, name: str, app: Any, ctx: MockContext) -> None:
        self.name, self.app = name, app
        self.http = AsgiServer(name, app, ctx.host, ctx.port)

    async def start(self) -> None:
        await self.http.start()

    async def stop(self) -> None:
        await self.http.stop()

    def endpoints(self) -> dict[str, str]:
        return {"rest": f"http://{self.http.address}"}


def problem(e: Any, titles: dict[int, str]) -> JSONResponse:
    """An RFC 9457 problem+json answer for a mock's refusal ``e`` (``status``, ``detail`` and, when
    a field is to blame, ``field`` and ``value``)."""
    from fastapi.responses import JSONResponse

    body = {
        "type": "about:blank",
        "title": titles.get(e.status, "Error"),
        "status": e.status,
        "detail": e.detail,
    }
    if e.field:
        body |= {"field": e.field, "value": e.value}
    return JSONResponse(body, e.status, media_type="application/problem+json")
