"""The REST gateway over one ``Server``: its read models, its uvicorn server, its live streams.

An adapter like the FIX gateway: it decodes a request, submits a command to the sequencer and
encodes the ``Result``. It never changes engine state itself.

Served (``start``), uvicorn runs on a thread of its own (the REST thread, its own asyncio loop):
the hot read-model queries are answered there by the query side (``queryside.QuerySide``, read
models fed from the log through the subscription seam), so they never wait behind the
sequencer's batches; every other request runs the FastAPI application on the sequencer's loop,
where its other queries read projections between batches. In-process (tests on the ASGI app)
everything runs on the one loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from system.engine import Instrument
from system.engine.marketdata import MarketData
from system.eventlog.records import Command
from system.gateways.rest.keys import KeyRing
from system.gateways.rest.problems import Problem
from system.gateways.rest.queryside import Handoff, QuerySide
from system.gateways.rest.readmodel import ReadModel
from system.pricing.bars import BarProjection
from system.risk.projections import AccountsProjection
from system.runtime import Projection
from system.server.sequencer import Result, Sequencer
from system.server.server import Server
from system.server.subscription import Subscription


def _default_accounts() -> Projection | None:
    from system.risk import as_risk_config

    cfg = as_risk_config({})
    return None if cfg is None else AccountsProjection(cfg)


class RestGateway:
    def __init__(self, server: Server, keys: KeyRing, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = server
        self.keys = keys
        self.host = host
        self.port = port
        self.model = ReadModel()
        self._sub: Subscription | None = None
        self._streams: set[asyncio.Queue[Any]] = set()
        self._uvicorn: _Uvicorn | None = None
        self._task: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._rest_loop: asyncio.AbstractEventLoop | None = None  # the REST thread's, while serving
        self._thread: threading.Thread | None = None
        self._serving: Any = None  # concurrent future of uvicorn's serve on the REST thread
        self._switch: float | None = None  # the interpreter's switch interval before serving
        self._handed: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self.query = QuerySide(None)
        self.attach()
        server.on_reset.append(self.attach)

    @property
    def sequencer(self) -> Sequencer:
        return self.server.sequencer

    # -- read models -----------------------------------------------------------------------------
    def attach(self) -> None:
        """Follow the (current) sequencer's log with fresh read models; end the live streams."""
        seq = self.sequencer
        extra: list[Projection] = []
        self.marketdata: MarketData = seq.projection(MarketData) or _add(extra, MarketData())
        self.bars: BarProjection = seq.projection(BarProjection) or _add(extra, BarProjection())
        accts = seq.projection(AccountsProjection)
        if accts is None:
            accts = _default_accounts()
            if accts is not None:
                extra.append(accts)
        self.accounts: AccountsProjection | None = accts
        self.model = ReadModel(extra=extra)
        self._sub = seq.subscribe(self.model, catch_up=True)
        # The query side folds on the REST thread; it becomes the one queries read once it has
        # caught up (the swap is queued behind its catch-up batches).
        side = QuerySide(accts)
        seq.subscribe(Handoff(side, self._post), catch_up=True)
        self._post(self._use_query_side, side)
        for q in list(self._streams):
            q.put_nowait(None)  # a reset: the log they followed is gone

    def _post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the query side's loop (the REST thread's while serving, else now),
        after everything posted before it."""
        self._handed.append((fn, args))
        loop = self._rest_loop
        if loop is None:
            self._run_handed()
        else:
            loop.call_soon_threadsafe(self._run_handed)

    def _run_handed(self) -> None:
        # One thread runs these at a time: the REST thread while it serves, this one after it ended.
        q = self._handed
        while q:
            fn, args = q.popleft()
            fn(*args)

    def _use_query_side(self, side: QuerySide) -> None:
        self.query = side

    def instrument(self, instrument: str) -> Instrument:
        inst = self.sequencer.instrument(instrument)
        if inst is None:
            raise Problem(
                404, f"no instrument {instrument!r} on this server", field="instrument", value=instrument
            )
        return inst

    def instruments(self) -> list[Instrument]:
        eng = self.sequencer.host.engine
        return [eng.books[i].inst for i in sorted(eng.instrument_ids())]

    async def call(self, session: str, client_id: str | None, command: Command) -> Result:
        """Submit ``command`` and wait for its result; traced as ``rest.<Command>`` from this
        receipt on when the server has telemetry, as the FIX gateway's requests are."""
        seq = self.sequencer
        tel = seq.telemetry
        receipt = None
        if tel is not None:
            attrs = {"rest.session": session}
            if client_id is not None:
                attrs["rest.idempotency_key"] = client_id
            receipt = ("rest", type(command).__name__, tel.wall.now_ns(), attrs)
        return await seq.call(session, client_id, command, receipt)

    def next_client_order_id(self, name: str) -> str:
        return f"{name}-{self.sequencer.store.head().seq}-{next(self._ids)}"

    @contextlib.contextmanager
    def stream(self) -> Iterator[asyncio.Queue[Any]]:
        q: asyncio.Queue[Any] = asyncio.Queue()
        self._streams.add(q)
        try:
            yield q
        finally:
            self._streams.discard(q)

    # -- serving ---------------------------------------------------------------------------------
    async def start(self, *, thread: bool | None = None) -> None:
        """Listen on ``host:port``: with ``thread`` on the REST thread, else on this loop. None:
        ``CHRONEX_REST_THREAD`` says (``1``, the default, or ``0``: a knob to compare the two)."""
        from system.gateways.rest.app import build_app
        from system.gateways.rest.front import Front
        from system.gateways.rest.hotpath import hot_protocol

        if thread is None:
            thread = _switch("CHRONEX_REST_THREAD")
        # The hot queries answered by the HTTP protocol itself (``hotpath``): a third of the server
        # CPU of one through uvicorn's request cycle. CHRONEX_REST_HOTPATH=0: uvicorn's own
        # protocol, every request through the cycle (the comparison bench/rest.py makes).
        hot = _switch("CHRONEX_REST_HOTPATH")
        # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets whose proto says TCP (an
        # accepted socket inherits the listener's 0), and without it Nagle held each response's
        # body behind its headers until the client's delayed ACK: 40 ms a request.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        core = asyncio.get_running_loop() if thread else None
        app = Front(build_app(self), self.keys, lambda: self.query, core)
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            ws="websockets-sansio",
            http=hot_protocol(app) if hot else "httptools",
        )
        self._uvicorn = uv = _Uvicorn(config)
        if not thread:
            self._task = asyncio.create_task(uv.serve(sockets=[sock]))
            while not uv.started:
                if self._task.done():
                    self._task.result()
                await asyncio.sleep(0.01)
            return
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="chronex-rest", daemon=True)
        self._thread.start()
        # From here on the sequencer hands batches to the REST thread (queued in order behind
        # everything folded so far, which was folded on this loop before the thread existed).
        self._rest_loop = loop
        # The two threads share the GIL: a query's thread waits for the sequencer's to give it
        # up, at the latest after the switch interval (5 ms by default, the whole budget).
        self._switch = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self._serving = asyncio.run_coroutine_threadsafe(uv.serve(sockets=[sock]), loop)
        while not uv.started:
            if self._serving.done():
                self._serving.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        for q in list(self._streams):
            q.put_nowait(None)
        uv = self._uvicorn
        if uv is not None and self._task is not None:
            uv.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 10)
        if uv is not None and self._serving is not None:
            uv.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.wrap_future(self._serving), 10)
        loop, thread = self._rest_loop, self._thread
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            await asyncio.to_thread(thread.join, 10)
            loop.close()
        self._rest_loop = None
        self._run_handed()  # what the thread had not folded yet: this loop owns the side again
        if self._switch is not None:
            sys.setswitchinterval(self._switch)
        self._uvicorn = None
        self._task = None
        self._serving = None
        self._thread = None
        self._switch = None


SWITCH_INTERVAL_S = 0.0005
"""The interpreter's switch interval while the REST thread serves: how long the sequencer's thread
may hold the GIL while a query waits for it."""


SWITCHES = ("CHRONEX_REST_THREAD", "CHRONEX_REST_HOTPATH")
"""The environment's knobs of ``start`` (0 or 1, 1 when unset)."""


def check_switches() -> None:
    """Raise ValueError naming the knob and its value if a ``SWITCHES`` setting is not 0 or 1
    (for a command to refuse before it opens anything)."""
    for name in SWITCHES:
        _switch(name)


def _switch(name: str) -> bool:
    """An on/off knob from the environment: ``1`` (the default) or ``0``; anything else refused."""
    text = os.environ.get(name, "1")
    if text not in ("0", "1"):
        raise ValueError(f"{name} must be 0 or 1, got {text!r}")
    return text == "1"


def _add(extra: list[Projection], p: Any) -> Any:
    extra.append(p)
    return p


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: ``chronex serve`` owns SIGTERM/SIGINT."""

    def install_signal_handlers(self) -> None:
        return None

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
