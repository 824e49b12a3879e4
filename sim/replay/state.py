"""Component state as bytes for the replayer's snapshot cache, and back.

Components that implement ``snapshot_state``/``restore_state`` are stored through them. Two get a
column layout that restores faster than their own (both grow with every order or trade of the day,
and as-of restores them on every query): the matching engine's client-order-id index and the
corrections component's trade list. A component with no way to snapshot makes the cache fold it
from the start (the slow path), never guess at its state.
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


def _corrections_dump(c: Any) -> Any:
    ts = c.trades
    vs = list(ts.values())
    return {
        "ids": _ints(list(ts.keys())),
        "cols": [
            _strs([t.instrument for t in vs]),
            _ints([t.price for t in vs]),
            _ints([t.qty for t in vs]),
            _strs([t.buy_account for t in vs]),
            _strs([t.sell_account for t in vs]),
            _ints([t.time for t in vs]),
            bytes(1 if t.busted else 0 for t in vs),
        ],
        "late_reports": c.late_reports,
    }


class _LazyTrades(dict[int, Any]):
    """The corrections component's trade table, restored as columns and turned into trade objects
    only when one is looked up (a bust names one trade; an as-of query names none). Iterating it
    materialises everything, so snapshots and digests see the same table as a fold."""

    def __init__(self, ids: list[int], cols: list[list[Any]]) -> None:
        super().__init__()
        self._pos = dict(zip(ids, range(len(ids)), strict=True))
        self._order = ids
        self._cols = cols

    def _make(self, k: int) -> Any:
        from system.corrections import _Trade

        i = self._pos.pop(k)
        inst, price, qty, buy, sell, time, busted = (col[i] for col in self._cols)
        t = _Trade(inst, price, qty, buy, sell, time)
        t.busted = busted
        dict.__setitem__(self, k, t)
        return t

    def _all(self) -> None:
        if self._pos:
            rest = dict(self.items_now())
            dict.clear(self)
            for k in self._order:
                if k in self._pos:
                    self._make(k)
                else:
                    dict.__setitem__(self, k, rest.pop(k))
            for k, v in rest.items():  # added after the restore
                dict.__setitem__(self, k, v)

    def items_now(self) -> list[tuple[int, Any]]:
        return list(dict.items(self))

    def get(self, k: int, default: Any = None) -> Any:
        if dict.__contains__(self, k):
            return dict.__getitem__(self, k)
        return self._make(k) if k in self._pos else default

    def __getitem__(self, k: int) -> Any:
        v = self.get(k, _MISSING)
        if v is _MISSING:
            raise KeyError(k)
        return v

    def __contains__(self, k: object) -> bool:
        return dict.__contains__(self, k) or k in self._pos

    def __setitem__(self, k: int, v: Any) -> None:
        if k in self._pos:
            self._make(k)
        dict.__setitem__(self, k, v)

    def __len__(self) -> int:
        return dict.__len__(self) + len(self._pos)

    def __iter__(self) -> Any:
        self._all()
        return dict.__iter__(self)

    def keys(self) -> Any:
        self._all()
        return dict.keys(self)

    def values(self) -> Any:
        self._all()
        return dict.values(self)

    def items(self) -> Any:
        self._all()
        return dict.items(self)


_MISSING = object()


def _corrections_load(c: Any, data: Any) -> None:
    inst, price, qty, buy, sell, time, busted = data["cols"]
    cols: list[list[Any]] = [
        _unstrs(inst), _unints(price), _unints(qty), _unstrs(buy), _unstrs(sell), _unints(time),
        [b == 1 for b in busted],
    ]  # fmt: skip
    c.__init__()
    c.trades = _LazyTrades(_unints(data["ids"]), cols)
    c.late_reports = data["late_reports"]


# Keyed by (module, class name) so this module imports neither; a class that changes shape
# falls back to its own snapshot_state when the expected attributes are missing.
_ADAPTERS: dict[tuple[str, str], tuple[tuple[str, ...], Dump, Load]] = {
    ("system.engine.engine", "MatchingEngine"): (("client_ids",), _engine_dump, _engine_load),
    ("system.corrections", "Corrections"): (("trades", "late_reports"), _corrections_dump, _corrections_load),
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
