"""The REST gateway over one ``Server``: its read models, its uvicorn server, its live streams.

An adapter like the FIX gateway: it decodes a request, submits a command to the sequencer and
encodes the ``Result``; queries read projections on the sequencer's loop between batches. It
never changes engine state itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn

from system.engine import Instrument
from system.engine.marketdata import MarketData
from system.gateways.rest.keys import KeyRing
from system.gateways.rest.problems import Problem
from system.gateways.rest.readmodel import ReadModel
from system.pricing.bars import BarProjection
from system.risk.projections import AccountsProjection
from system.runtime import Projection
from system.server.sequencer import Sequencer
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
        for q in list(self._streams):
            q.put_nowait(None)  # a reset: the log they followed is gone

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
    async def start(self) -> None:
        from system.gateways.rest.app import build_app

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            build_app(self), log_level="warning", lifespan="off", access_log=False, ws="websockets-sansio"
        )
        self._uvicorn = _Uvicorn(config)
        self._task = asyncio.create_task(self._uvicorn.serve(sockets=[sock]))
        while not self._uvicorn.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        for q in list(self._streams):
            q.put_nowait(None)
        if self._uvicorn is not None and self._task is not None:
            self._uvicorn.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 10)
        self._uvicorn = None
        self._task = None


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
