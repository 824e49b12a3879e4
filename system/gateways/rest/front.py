"""The REST thread's ASGI front: hot queries answered on this thread, the rest on the sequencer's.

When the gateway serves in a thread of its own, uvicorn parses HTTP on that thread's loop, so a
query never waits behind a batch of commands on the sequencer's loop. ``QuerySide.answer``
serves the hot read-model queries here; every other request (commands, streams, clock control,
audit, and every problem) runs the FastAPI application on the sequencer's loop, exactly as when
the gateway shares that loop, its ``receive`` and ``send`` carried across the two loops.
Most hot GETs never reach this front: the HTTP protocol answers the plain ones itself
(``hotpath``), with the bytes uvicorn would send for this front's answer.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from system.gateways.rest.hotpath import status_200_head
from system.gateways.rest.keys import KeyRing
from system.gateways.rest.queryside import QuerySide


class Front:
    """ASGI app for the REST thread. ``side()`` is the current query side (a server reset swaps
    it); ``core`` is the sequencer's loop, where ``app`` (the FastAPI application) runs (None: this
    very loop, a gateway serving on the sequencer's loop)."""

    def __init__(
        self,
        app: ASGIApp,
        keys: KeyRing,
        side: Callable[[], QuerySide],
        core: asyncio.AbstractEventLoop | None,
    ) -> None:
        self.app = app
        self.keys = keys
        self.side = side
        self.core = core
        self.served_here = 0  # hot queries answered on this thread (for tests and the bench)
        self.served_early = 0  # of which by the HTTP protocol itself (``hotpath``)
        self._head_of: list[tuple[bytes, bytes]] | None = None
        self._head = b""

    def response_head(self, default_headers: list[tuple[bytes, bytes]]) -> bytes:
        """A hot answer's status line and headers up to ``content-length: `` (``hotpath``), made
        again when uvicorn replaces its default headers (a new ``date``, once a second)."""
        if default_headers is not self._head_of:
            self._head = status_200_head(default_headers)
            self._head_of = default_headers
        return self._head

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            body = self.side().answer(self.keys, scope["path"], scope["query_string"], _api_key(scope))
            if body is not None:
                self.served_here += 1
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [
                            (b"content-length", str(len(body)).encode()),
                            (b"content-type", b"application/json"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        if self.core is None:
            await self.app(scope, receive, send)
        else:
            await self._on_core(self.core, scope, receive, send)

    async def _on_core(
        self, core: asyncio.AbstractEventLoop, scope: Scope, receive: Receive, send: Send
    ) -> None:
        here = asyncio.get_running_loop()
        # Each crossing wakes the other thread and waits for the GIL, so they are few: a request's
        # body is read here before the handler starts, and a response (start and last body) goes
        # back with the handler's end; only a streamed body's chunks and WebSocket messages cross
        # one by one.
        early: deque[Message] = deque()
        if scope["type"] == "http":
            while True:
                m = await receive()
                early.append(m)
                if m["type"] != "http.request" or not m.get("more_body", False):
                    break
        held: list[Message] = []

        async def send_all(messages: list[Message]) -> None:
            for m in messages:
                await send(m)

        async def core_receive() -> Message:
            if early:
                return early.popleft()
            return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_call(receive), here))

        async def core_send(message: Message) -> None:
            t = message["type"]
            if t == "http.response.start" or (t == "http.response.body" and not message.get("more_body")):
                held.append(message)  # goes back with the handler's end: one crossing for both
                return
            out = [*held, message]
            held.clear()
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(send_all(out), here))

        done = asyncio.run_coroutine_threadsafe(_call(self.app, scope, core_receive, core_send), core)
        try:
            await asyncio.wrap_future(done)
        except asyncio.CancelledError:
            done.cancel()  # the connection went away: end the handler on the sequencer's loop too
            raise
        if held:
            await send_all(held)


async def _call(fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    return await fn(*args)


def _api_key(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            text: str = value.decode("latin-1")
            return text
    return None
