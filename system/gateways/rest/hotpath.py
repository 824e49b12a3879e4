"""The hot queries answered where uvicorn reads them: an HTTP protocol with a fast path.

Profiled under bench/rest.py's query load (cProfile on the REST thread's CPU clock), a hot query
answered by ``Front`` from cached bytes still cost about 180 µs of server CPU, nearly all of it
uvicorn's per-request machinery around a two-line answer: the httptools parser's callbacks, the
scope dict, a ``RequestResponseCycle`` and an asyncio task per request, two ``transport.write``
calls (headers, body) with uvicorn's header checks, and the keep-alive timer re-armed. The
answer itself (``QuerySide.answer``, a dict look-up) was about 4% of it.

``hot_protocol(front)`` is uvicorn's httptools protocol with one more step in ``data_received``:
when the bytes received are exactly one complete, plain ``GET`` (HTTP/1.1, no body, nothing
that changes the connection) and the query side has the answer, the whole response goes out in
one write, byte for byte what uvicorn would have sent for ``Front``'s answer (its default
``date`` and ``server`` headers, then ``content-length`` and ``content-type``). Anything else
(another method, a partial or pipelined request, an unusual header or character, a problem, a
query the side does not serve) is fed to the parser unchanged and takes uvicorn's and
``Front``'s path as before, so every status, problem and header of that path stays as it was.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

if TYPE_CHECKING:
    from system.gateways.rest.front import Front

# The request line: origin-form target of unreserved and sub-delim characters only (no '%': the
# path would be percent-decoded; no '#'; nothing llhttp might refuse), HTTP/1.1 only (1.0 has
# other keep-alive rules).
_LINE = re.compile(
    rb"GET (/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*)(?:\?([A-Za-z0-9\-._~!$&'()*+,;=:@/?]*))? HTTP/1\.1"
)
# A header line as llhttp takes it: a token, a colon, optional blanks, visible ASCII or blanks.
_HEADER = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([\x20-\x7e\t]*)")
# Headers that change how uvicorn frames, continues or keeps the connection: their requests take
# uvicorn's path (but ``Connection: keep-alive``, HTTP/1.1's default, which httpx and browsers send).
_FRAMING = frozenset((b"content-length", b"transfer-encoding", b"connection", b"expect", b"upgrade"))
_KEEP_ALIVE = b"keep-alive"
_JSON_TAIL = b"\r\ncontent-type: application/json\r\n\r\n"
PARSED_LIMIT = 1024
"""Requests whose parse is remembered at most (a client repeats the same bytes)."""
_Parsed = tuple[str, bytes, str | None] | None


class HotPathProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, answering complete plain hot GETs itself (see the module)."""

    front: Front  # set on the subclass ``hot_protocol`` makes

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._in_message = False  # the parser holds part of a request: bytes must go to it
        self._answered_at = 0.0  # loop time of this connection's last hot answer

    def on_message_begin(self) -> None:
        self._in_message = True
        super().on_message_begin()

    def on_message_complete(self) -> None:
        self._in_message = False
        super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        if (
            data[-4:] == b"\r\n\r\n"
            and not self._in_message
            and (self.cycle is None or self.cycle.response_complete)
            and not self.pipeline
            and not self.flow.write_paused
            and not self.access_log
        ):
            response = self._answer(data)
            if response is not None:
                self.transport.write(response)
                self.server_state.total_requests += 1
                self.front.served_here += 1
                self.front.served_early += 1
                # uvicorn closes a connection idle for timeout_keep_alive after its last response;
                # instead of re-arming that timer for each answer (a third of this path's CPU),
                # the timer, when it fires, looks at the last hot answer's time.
                self._answered_at = self.loop.time()
                if self.timeout_keep_alive_task is None:
                    self.timeout_keep_alive_task = self.loop.call_at(
                        self._answered_at + self.timeout_keep_alive, self.timeout_keep_alive_handler
                    )
                return
        super().data_received(data)

    def timeout_keep_alive_handler(self) -> None:
        due = self._answered_at + self.timeout_keep_alive
        if due > self.loop.time():  # a hot answer went out since the timer was armed
            self.timeout_keep_alive_task = self.loop.call_at(due, self.timeout_keep_alive_handler)
            return
        super().timeout_keep_alive_handler()

    def _answer(self, data: bytes) -> bytes | None:
        """The whole response to ``data`` if it is one plain hot GET the query side answers."""
        try:
            parsed = _PARSED[data]
        except KeyError:
            parsed = _parse(data)
            if len(_PARSED) >= PARSED_LIMIT:
                _PARSED.clear()
            _PARSED[data] = parsed
        if parsed is None:
            return None
        path, query, api_key = parsed
        front = self.front
        body = front.side().answer(front.keys, path, query, api_key)
        if body is None:
            return None
        head = front.response_head(self.server_state.default_headers)
        return b"".join((head, str(len(body)).encode(), _JSON_TAIL, body))


_PARSED: dict[bytes, _Parsed] = {}
"""Request bytes to their parse (None: not a plain hot GET): a memo of a pure function, so the
connections (and servers) that share it need no lock."""


def _parse(data: bytes) -> _Parsed:
    """Path, query and API key of ``data`` if it is one plain GET (see the module), else None."""
    lines = data[:-4].split(b"\r\n")
    line = _LINE.fullmatch(lines[0])
    if line is None:
        return None
    api_key: str | None = None
    for raw in lines[1:]:
        h = _HEADER.fullmatch(raw)
        if h is None:
            return None  # an empty line (a second request), obs-fold, a bare CR or LF, ...
        name = h[1].lower()
        if name in _FRAMING and not (name == b"connection" and h[2].rstrip(b" \t").lower() == _KEEP_ALIVE):
            return None
        if name == b"x-api-key":
            if api_key is not None:
                return None
            api_key = h[2].rstrip(b" \t").decode("latin-1")
    return line[1].decode("ascii"), line[2] or b"", api_key


def status_200_head(default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """uvicorn's status line and default headers of a 200, up to ``content-length: ``."""
    parts = [STATUS_LINE[200]]
    for name, value in default_headers:
        parts += [name.lower(), b": ", value, b"\r\n"]
    parts.append(b"content-length: ")
    return b"".join(parts)


def hot_protocol(front: Front) -> type[HotPathProtocol]:
    """The protocol class for uvicorn's ``Config(http=...)``, answering from ``front``'s side."""
    return type("HotPath", (HotPathProtocol,), {"front": front})
