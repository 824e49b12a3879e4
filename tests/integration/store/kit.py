"""What the EventStore contract tests share: the backends, their records, a log's URL by name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from system.eventlog import Event, EventStore, NewEvent

BACKENDS = ["memory", "sqlite", "sqlite-stream-index", "postgresql"]
DURABLE = ["sqlite", "postgresql"]  # backends another process can open


class ContractTick(Event, frozen=True):
    account: str
    qty: int
    note: str = ""

    def stream(self) -> str:
        return f"account/{self.account}"


class ContractBad(Event, frozen=True):
    """A record whose encoding fails (an object msgspec cannot encode) to test atomicity."""

    blob: object

    def stream(self) -> str:
        return "bad"


StoreFactory = Callable[..., EventStore]


def log_url(backend: str, name: str, tmp_path: Path, pg: dict[str, str], new_pg: Callable[[], str]) -> str:
    """The URL of the log ``name`` of a durable backend (the same name gives the same log)."""
    if backend == "postgresql":
        if name not in pg:
            pg[name] = new_pg()
        return pg[name]
    return str(tmp_path / f"{name}.db")


def tick(account: str = "A", qty: int = 1, vt: int = 10, **kw: str) -> NewEvent:
    return NewEvent(ContractTick(account, qty), vt, **kw)
