"""Projections: read models folded from the log (the query side of CQRS).

A projection sees every logged entry once, in seq order, and remembers the last seq it applied,
so dropping one and rebuilding it from the log gives the same state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from system.eventlog.codec import LoggedEvent
from system.eventlog.store import EventStore


class Projection:
    """Subclasses map record types to methods in ``on`` (built by ``@on_event``) or override ``apply``."""

    name: str = "projection"

    def __init__(self) -> None:
        self.position = 0
        self._table: dict[str, Callable[[LoggedEvent], Any]] = {}
        for klass in reversed(type(self).__mro__):
            for key, fn in vars(klass).items():
                for t in getattr(fn, "_chronex_on", ()):
                    self._table[t] = getattr(self, key)

    def handle(self, ev: LoggedEvent) -> None:
        if ev.seq <= self.position:
            return  # exactly once: an entry already applied is skipped
        fn = self._table.get(ev.type)
        if fn is not None:
            fn(ev)
        self.position = ev.seq

    def handle_batch(self, batch: Sequence[LoggedEvent]) -> None:
        """Apply one append's entries, in seq order: the runtime calls this once per append.
        Overriding it saves a call per entry for projections that skip most entries."""
        handle = self.handle
        for ev in batch:
            handle(ev)

    # Snapshots (a warm start): a projection that can restore its state overrides both; the
    # runtime stores it beside the components' and restores it before folding the log's tail.
    def snapshot_state(self) -> Any:
        """A msgspec-encodable picture of the state at ``position`` (None: cannot snapshot)."""
        return None

    def restore_state(self, state: Any) -> None:
        """Take back what ``snapshot_state`` returned, decoded to plain msgpack types; the
        runtime sets ``position`` to the snapshot's seq."""
        raise NotImplementedError(f"{type(self).__name__} cannot restore a snapshot")

    def rebuild(self, store: EventStore, to_seq: int | None = None) -> None:
        """Fold the log from the start into this (fresh) projection."""
        for ev in store.read(self.position + 1, to_seq):
            self.handle(ev)


def on_event(*type_names: str | type) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a projection method as the handler of the named record types."""
    names = tuple(t if isinstance(t, str) else getattr(t, "name", t.__name__) for t in type_names)

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn._chronex_on = (*getattr(fn, "_chronex_on", ()), *names)  # type: ignore[attr-defined]
        return fn

    return deco
