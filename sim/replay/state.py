"""Component state as bytes for the replayer's snapshot cache, and back.

Components that implement ``snapshot_state``/``restore_state`` are stored through them. One gets a
column layout that restores faster than its own (it grows with every order of the day, and as-of
restores it on every query): the matching engine's client-order-id index, restored lazily (see
``ClientIds``). (The corrections component stores its trade table as columns itself.) A
component with no way to snapshot makes the cache fold it from the start (the slow path), never
guess at its state.
"""

from __future__ import annotations

import hashlib
import typing
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


def id_columns(ids: dict[str, int]) -> tuple[tuple[int, str], bytes]:
    """An account's client-order-id index as two columns (what ``ClientIds`` restores from)."""
    return _strs(list(ids.keys())), _ints(list(ids.values()))


def _engine_dump(c: Any) -> Any:
    ids_by_account = c.client_ids
    c.client_ids = {}  # the engine's own snapshot would sort them all; we store columns instead
    try:
        snap = c.snapshot_state()
    finally:
        c.client_ids = ids_by_account
    ids = [(account, *id_columns(m)) for account, m in sorted(ids_by_account.items())]
    return {"engine": snap, "client_ids": ids}


class ClientIds(dict[str, int]):
    """One account's client-order-id index, restored from its columns on first read.

    Building the dicts costs ~50 ms on a 1M-entry day (a string and an int object per order),
    more than the rest of an as-of answer, and most answers never read them: the fold only adds
    (``ids[cid] = oid``, dict's own store, kept as the newer entries). Any read first merges the
    columns under those additions, giving the dict (contents and insertion order) the engine
    would have built. Only code that bypasses dict's methods (C encoders walking the table
    directly) could tell the difference; the engine and its snapshot read through methods.
    """

    __slots__ = ("_cols",)

    def __init__(self, cols: tuple[Any, bytes]) -> None:
        super().__init__()
        self._cols: tuple[Any, bytes] | None = cols

    def materialize(self) -> None:
        cols = self._cols
        if cols is None:
            return
        self._cols = None
        newer = dict.copy(self)
        dict.clear(self)
        dict.update(self, zip(_unstrs(cols[0]), _unints(cols[1]), strict=True))
        dict.update(self, newer)

    def __reduce__(self) -> Any:
        self.materialize()
        return (dict, (dict.copy(self),))


def _reading(name: str) -> Callable[..., Any]:
    plain = getattr(dict, name)

    def method(self: ClientIds, *args: Any, **kwargs: Any) -> Any:
        if self._cols is not None:
            self.materialize()
        return plain(self, *args, **kwargs)

    method.__name__ = name
    return method


# Every dict method but the plain store materializes first (mutations too: pop must see the
# columns). __setitem__ stays dict's own: the fold's additions cost nothing extra.
for _name in (
    "__getitem__", "__contains__", "__iter__", "__reversed__", "__len__", "__eq__", "__ne__",
    "__repr__", "__or__", "__ror__", "__ior__", "__delitem__", "__sizeof__", "get", "keys",
    "values", "items", "copy", "pop", "popitem", "setdefault", "update", "clear",
):  # fmt: skip
    setattr(ClientIds, _name, _reading(_name))


def _engine_load(c: Any, data: Any) -> None:
    c.restore_state(data["engine"])
    c.client_ids = {a: ClientIds((cids, oids)) for a, cids, oids in data["client_ids"]}


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


def _state_type(c: Component) -> type | None:
    """The Struct ``c.snapshot_state`` is annotated to return, to decode straight into it."""
    try:
        ret = typing.get_type_hints(type(c).snapshot_state).get("return")
    except Exception:  # an annotation naming what the module imports only for type checkers
        return None
    return ret if isinstance(ret, type) and issubclass(ret, msgspec.Struct) else None


_TYPES: dict[type, type | None] = {}


def load(c: Component, blob: bytes) -> None:
    """Restore ``c`` from ``blob`` (what ``dump`` wrote for a component of the same build)."""
    ad = _adapter(c)
    if ad is not None:
        ad[1](c, msgspec.msgpack.decode(blob))
        return
    kind = type(c)
    if kind not in _TYPES:
        _TYPES[kind] = _state_type(c)
    st = _TYPES[kind]
    # Typed decoding skips the generic dicts and lists a restore_state would convert anyway.
    c.restore_state(msgspec.msgpack.decode(blob) if st is None else msgspec.msgpack.decode(blob, type=st))


def digest(c: Component) -> str:
    """sha256 of the component's canonical state: two equal states have equal digests."""
    state = c.snapshot_state()
    if state is None:
        state = state_of(c)
    return hashlib.sha256(canonical(state)).hexdigest()
