"""The EventStore contract's fixtures: a store factory per backend, durable logs' URLs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from system.clock import FixedClock
from system.eventlog import EventStore, open_log
from system.eventlog.sqlite import SQLiteEventStore
from tests.integration.store.kit import BACKENDS, StoreFactory, log_url


@pytest.fixture
def pg_urls(request: pytest.FixtureRequest) -> Callable[[], str]:
    """Fresh PostgreSQL log URLs, only for the postgresql cases (others never ask for one)."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is None or "postgresql" not in callspec.params.values():

        def no_pg() -> str:
            raise AssertionError("not a postgresql case")

        return no_pg
    factory: Callable[[], str] = request.getfixturevalue("pg_log_url")
    return factory


@pytest.fixture(params=BACKENDS)
def make_store(
    request: pytest.FixtureRequest, tmp_path: Path, pg_urls: Callable[[], str]
) -> Iterator[StoreFactory]:
    """A factory of stores of one backend; calling it twice with the same name reopens the same log."""
    opened: list[EventStore] = []
    memory: dict[str, EventStore] = {}
    pg: dict[str, str] = {}

    def make(name: str = "log", clock: FixedClock | None = None) -> EventStore:
        clk = clock if clock is not None else FixedClock(1_000)
        if request.param == "postgresql":
            store = open_log(log_url("postgresql", name, tmp_path, pg, pg_urls), clk)
            opened.append(store)
        elif request.param == "memory":
            if name not in memory:
                memory[name] = open_log("memory://", clk)
            store = memory[name]
            store.clock = clk
        elif request.param == "sqlite":
            store = open_log(tmp_path / f"{name}.db", clk)
            opened.append(store)
        else:
            store = SQLiteEventStore(tmp_path / f"{name}.db", clk, stream_index=True)
            opened.append(store)
        return store

    make.backend = request.param  # type: ignore[attr-defined]
    yield make
    for s in opened:
        s.close()


@pytest.fixture
def durable_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_urls: Callable[[], str]
) -> Callable[[str], str]:
    """``url(name)``: the log ``name`` of the test's ``backend`` parameter (sqlite or postgresql)."""
    backend = request.node.callspec.params["backend"]
    pg: dict[str, str] = {}
    return lambda name: log_url(backend, name, tmp_path, pg, pg_urls)
