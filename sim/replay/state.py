"""Component state as bytes for the replayer's snapshot cache, and back.

Components that implement ``snapshot_state``/``restore_state`` are stored through them. One gets a
column layout that restores faster than its own (it grows with every order of the day, and as-of
restores it on every query): the matching engine's client-order-id index. (The corrections
component stores its trade table as columns itself.) A component with no way to snapshot makes
the cache fold it from the start (the slow path), never guess at its state.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable
from typing import Any

import msgspec

from system.eventlog.codec import canonical
from system.runtime import Component

Dump = Callable[[Any], Any]
Load = Callable[[Any, Any], None]


def _ints(xs: list[int]) -> bytes:
    return array("q", xs).tobytes()


def _unints(b: bytes) -> list[int]:
    a = array("q")
    a.frombytes(b)
    return a.tolist()


def _strs(xs: list[str]) -> tuple[int, str]:
    # One joined string: decoding it is one C-level split instead of a Python object per item.
    return len(xs), "\x00".join(xs)


def _unstrs(packed: Any) -> list[str]:
    n, text = packed
    return text.split("\x00") if n else []


def _engine_dump(c: Any) -> Any:
    ids_by_account = c.client_ids
    c.client_ids = {}  # the engine's own snapshot would sort them all; we store columns instead
    try:
        snap = c.snapshot_state()
    finally:
        c.client_ids = ids_by_account
    ids = [
        (account, _strs(list(m.keys())), _ints(list(m.values())))
        for account, m in sorted(ids_by_account.items())
    ]
    return {"engine": snap, "client_ids": ids}


def _engine_load(c: Any, data: Any) -> None:
    c.restore_state(data["engine"])
    c.client_ids = {
        a: dict(zip(_unstrs(cids), _unints(oids), strict=True)) for a, cids, oids in data["client_ids"]
    }


# Keyed by (module, class name) so this module imports neither; a class that changes shape
# falls back to its own snapshot_state when the expected attributes are missing.
_ADAPTERS: dict[tuple[str, str], tuple[tuple[str, ...], Dump, Load]] = {
    ("system.engine.engine", "MatchingEngine"): (("client_ids",), _engine_dump, _engine_load),
}


def _adapter(c: Component) -> tuple[Dump, Load] | None:
    k = (type(c).__module__, type(c).__qualname__)
    hit = _ADAPTERS.get(k)
    if hit is None or not all(hasattr(c, a) for a in hit[0]):
        return None
    return hit[1], hit[2]


def can_snapshot(c: Component) -> bool:
    return _adapter(c) is not None or c.snapshot_state() is not None


def state_of(c: Component) -> Any:
    """A msgspec-encodable picture of ``c`` (None if it has none)."""
    ad = _adapter(c)
    return ad[0](c) if ad is not None else c.snapshot_state()


def dump(c: Component) -> bytes | None:
    """``c``'s state as canonical msgpack, or None if it cannot be snapshotted."""
    state = state_of(c)
    if state is None:
        return None
    return canonical(state)


def load(c: Component, blob: bytes) -> None:
    data = msgspec.msgpack.decode(blob)
    ad = _adapter(c)
    if ad is not None:
        ad[1](c, data)
    else:
        c.restore_state(data)


def digest(c: Component) -> str:
    """sha256 of the component's canonical state: two equal states have equal digests."""
    state = c.snapshot_state()
    if state is None:
        state = state_of(c)
    return hashlib.sha256(canonical(state)).hexdigest()
