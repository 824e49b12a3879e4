"""Playing an HTTP mock's recording back (``chronex mock binance --replay LOG``).

The HTTP mocks (crypto exchanges, wallet, onboarding) record each exchange on the client's link as
an ``in`` (``METHOD /path?query`` then a newline and the body) followed by its ``out`` (the status
then a newline and the body). Playback serves those answers: a request that is byte for byte one
the recorded client sent gets the answer the mock gave it, in recorded order when the same request
was sent more than once. Anything else is a 404 saying it is not in the recording: a replay never
invents an answer. Links named ``ledger`` (state changes the mock wrote, not traffic) and
WebSocket frames are not played.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from mocks.base import MockError, Recorder
from mocks.recording import Traffic

__all__ = ["Exchanges", "exchanges", "record_exchanges", "serve_http_replay"]

Exchanges = dict[bytes, deque[tuple[int, bytes]]]


def request_key(method: str, target: str, body: bytes) -> bytes:
    """How an HTTP mock records a request (the ``in`` payload)."""
    return f"{method} {target}\n".encode() + body


def record_exchanges(app: FastAPI, name: str, record: Recorder) -> None:
    """Record every request to ``app`` (a FastAPI app) with its answer, in the form playback reads."""
    from starlette.requests import Request
    from starlette.responses import Response

    @app.middleware("http")
    async def _record(request: Request, call_next: Any) -> Any:
        body = await request.body()
        link = request.client.host if request.client else "client"
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        record(name, link, "in", request_key(request.method, target, body))
        response = await call_next(request)
        out = b"".join([chunk async for chunk in response.body_iterator])
        record(name, link, "out", f"{response.status_code}\n".encode() + out)
        return Response(out, response.status_code, headers=dict(response.headers))


def exchanges(traffic: list[Traffic]) -> Exchanges:
    """Request -> the answers given to it, in order, from every client link of the recording."""
    pending: dict[str, bytes] = {}
    out: Exchanges = {}
    for t in traffic:
        if t.link == "ledger":
            continue
        if t.direction == "in":
            pending[t.link] = t.payload
            continue
        req = pending.pop(t.link, None)
        if req is None:
            continue  # a frame pushed to a WebSocket client: not an answer to a request
        head, _, body = t.payload.partition(b"\n")
        try:
            status = int(head)
        except ValueError:
            continue
        out.setdefault(req, deque()).append((status, body))
    if not out:
        raise MockError("--replay: the recording holds no HTTP request answered by the mock")
    return out


async def serve_http_replay(
    recorded: Exchanges,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ready: Callable[[int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """Serve ``recorded`` until ``stop`` (or every recorded answer was given); returns the count
    of answers played."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from mocks.asgi import AsgiServer

    left = sum(len(q) for q in recorded.values())
    played = 0
    done = asyncio.Event()

    async def answer(request: Request) -> Response:
        nonlocal played
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        queue = recorded.get(request_key(request.method, target, await request.body()))
        if not queue:
            why = {"error": "not in the recording", "request": f"{request.method} {target}"}
            return Response(json.dumps(why), 404, media_type="application/json")
        status, body = queue.popleft()
        played += 1
        if played == left:
            done.set()
        return Response(body, status, media_type="application/json")

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    app = Starlette(routes=[Route("/{path:path}", answer, methods=methods)])
    server = AsgiServer("replay", app, host, port)
    await server.start()
    if ready is not None:
        ready(server.port)
    waits = [asyncio.ensure_future(done.wait())]
    if stop is not None:
        waits.append(asyncio.ensure_future(stop.wait()))
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
        await server.stop()
    return played
