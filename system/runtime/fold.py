"""One fold dispatch: which appliers an event goes to, and in what order.

The command path (``Context.emit``), a restart's catch-up (cold or from snapshots), ``rebuild``
and as-of queries all fold through these two helpers, so the order in which components see an
event (component order, then each component's definition order) is written down once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from system.runtime.component import Component

Appliers = dict[type, tuple[Callable[[Any], Any], ...]]


def dispatch(components: Sequence[Component]) -> Appliers:
    """Record type -> the appliers of every component that folds it, in component order."""
    merged: dict[type, list[Callable[[Any], Any]]] = {}
    for c in components:
        for t, fns in c.appliers().items():
            merged.setdefault(t, []).extend(fns)
    return {t: tuple(fns) for t, fns in merged.items()}


class Folder:
    """Folds events into components that each start at their own seq (0, or a snapshot's).

    ``apply(seq, record)`` gives the record to every component whose start is below ``seq``:
    past every start through the merged dispatch (the cold path), else component by component.
    """

    __slots__ = ("_high", "_low", "_merged", "_since", "_tables")

    def __init__(self, components: Sequence[Component], since: Sequence[int] | None = None) -> None:
        self._since = list(since) if since is not None else [0] * len(components)
        self._merged = dispatch(components)
        self._tables = [c.appliers() for c in components]
        self._low = min(self._since, default=0)
        self._high = max(self._since, default=0)

    @property
    def low(self) -> int:
        """The earliest start: entries at or before it reach no component."""
        return self._low

    @property
    def high(self) -> int:
        """The latest start: entries after it reach every component."""
        return self._high

    def apply(self, seq: int, record: Any) -> None:
        if seq > self._high:
            for fn in self._merged.get(type(record), ()):
                fn(record)
        elif seq > self._low:  # some components are past their snapshot, others not yet
            t = type(record)
            for n, table in zip(self._since, self._tables, strict=True):
                if seq > n:
                    for fn in table.get(t, ()):
                        fn(record)
