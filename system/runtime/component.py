"""Components: the single-threaded state machines (matching, risk, pricing) the runtime drives.

A component declares, with decorators a reader can scan, which commands it handles, which events
it folds into its state and which events it reacts to:

    class Matching(Component):
        @handles(SubmitOrder)
        def submit(self, cmd: SubmitOrder, ctx: Context) -> bool: ...   # True = consumed
        @applies(OrderAccepted)
        def _accepted(self, ev: OrderAccepted) -> None: ...
        @reacts(KillSwitchEngaged)
        def _kill(self, ev: KillSwitchEngaged, ctx: Context) -> None: ...

State changes only through ``@applies`` methods. ``ctx.emit`` applies an event to every
component at once, so a handler sees its own effects, and folding the log rebuilds the same state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from system.eventlog.records import Command, Event

F = TypeVar("F", bound=Callable[..., Any])

_HANDLES = "_chronex_handles"
_APPLIES = "_chronex_applies"
_REACTS = "_chronex_reacts"


def _mark(attr: str, types: tuple[type, ...]) -> Callable[[F], F]:
    def deco(fn: F) -> F:
        setattr(fn, attr, (*getattr(fn, attr, ()), *types))
        return fn

    return deco


def handles(*types: type[Command]) -> Callable[[F], F]:
    """Mark a method ``(cmd, ctx) -> bool`` as a handler; returning True stops the chain."""
    return _mark(_HANDLES, types)


def applies(*types: type[Event]) -> Callable[[F], F]:
    """Mark a method ``(event) -> None`` as the fold of those events into this component's state."""
    return _mark(_APPLIES, types)


def reacts(*types: type[Event]) -> Callable[[F], F]:
    """Mark a method ``(event, ctx) -> None`` run after the event is applied; it may emit more."""
    return _mark(_REACTS, types)


class Component:
    """Base of every state machine the runtime drives. ``name`` keys its snapshots."""

    name: str = "component"

    def _collect(self, attr: str) -> dict[type, list[Callable[..., Any]]]:
        table: dict[type, list[Callable[..., Any]]] = {}
        # Walk the class dict in definition order (never set order) so ties are stable.
        seen: set[str] = set()
        for klass in type(self).__mro__:
            for key, fn in vars(klass).items():
                if key in seen:
                    continue
                types = getattr(fn, attr, None)
                if types:
                    seen.add(key)
                    for t in types:
                        table.setdefault(t, []).append(getattr(self, key))
        return table

    def handlers(self) -> dict[type, list[Callable[..., Any]]]:
        return self._collect(_HANDLES)

    def appliers(self) -> dict[type, list[Callable[..., Any]]]:
        return self._collect(_APPLIES)

    def reactors(self) -> dict[type, list[Callable[..., Any]]]:
        return self._collect(_REACTS)

    # Snapshots: components that want fast as-of queries override these two.
    def snapshot_state(self) -> Any:
        """A msgspec-encodable picture of the state (None: this component cannot snapshot).

        It is stored as canonical msgpack, so it must hold no floats and no sets."""
        return None

    def restore_state(self, state: Any) -> None:
        """Take back what ``snapshot_state`` returned, decoded to plain msgpack types (dicts,
        lists, ints, strs, bytes): use ``msgspec.convert`` to get typed objects again."""
        raise NotImplementedError(f"{type(self).__name__} cannot restore a snapshot")
