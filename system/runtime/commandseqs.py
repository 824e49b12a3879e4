"""The runtime's command-id table: which log entries each command id produced (idempotent retries)."""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from typing import Any


class CommandSeqs:
    """Command id -> (first seq, last seq) of its entries: what an idempotent retry returns.

    Generated ids (``prefix-1``, ``prefix-2``, ...) keep their pair in one array indexed by the
    counter: 16 bytes a command, and no dict entry, key string or GC-tracked tuple. Other ids
    (a served session's, one an order), and generated ones after a gap in the counter, map to an
    index into a second array of pairs: a dict entry and an int, never a tuple the cycle
    collector walks. Reads and writes by id (``in``, ``[]``, ``get``) see both; the command path
    calls ``remember`` with the counter it has.
    """

    __slots__ = ("_by_id", "_ex", "_gen", "_head", "_prefix")

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._head = f"{prefix}-"
        self._by_id: dict[str, int] = {}  # id -> k: its first, last at 2k, 2k+1 of _ex
        self._ex = array("q")
        self._gen = array("q")  # first, last of generated id n at 2n-2, 2n-1

    def remember(self, cid: str, n: int, first: int, last: int) -> None:
        """Record command ``cid``'s seqs; ``n`` is its counter if it is a generated id, else 0."""
        gen = self._gen
        if n:
            i = 2 * n - 2
            if i <= len(gen):
                if i < len(gen):  # stored before (unflushed, or its last seq grows on catch-up)
                    gen[i] = first
                    gen[i + 1] = last
                else:
                    gen.append(first)
                    gen.append(last)
                if self._by_id:  # an explicit id that took this name before: the latest run wins
                    self._by_id.pop(cid, None)
                return
            # a gap (an explicit id with our prefix jumped the counter): the dict keeps it
        ex = self._ex
        k = self._by_id.get(cid)
        if k is None:
            self._by_id[cid] = len(ex) >> 1
            ex.append(first)
            ex.append(last)
        else:  # stored before (unflushed, or its last seq grows on catch-up)
            ex[2 * k] = first
            ex[2 * k + 1] = last

    def get(self, cid: str) -> tuple[int, int] | None:
        """(first seq, last seq) of command ``cid`` if it was executed, else None."""
        k = self._by_id.get(cid)
        if k is not None:
            ex = self._ex
            return ex[2 * k], ex[2 * k + 1]
        if not cid.startswith(self._head):
            return None
        n = _counter_of(cid, self._prefix)
        gen = self._gen
        if n is None or n < 1 or 2 * n > len(gen):
            return None
        return gen[2 * n - 2], gen[2 * n - 1]

    def __contains__(self, cid: object) -> bool:
        return isinstance(cid, str) and self.get(cid) is not None

    def __getitem__(self, cid: str) -> tuple[int, int]:
        got = self.get(cid)
        if got is None:
            raise KeyError(cid)
        return got

    def __setitem__(self, cid: str, seqs: tuple[int, int]) -> None:
        self.remember(cid, _counter_of(cid, self._prefix) or 0, *seqs)

    def items(self) -> Iterator[tuple[str, tuple[int, int]]]:
        """Every remembered id with its (first seq, last seq): generated ids first, in order."""
        gen = self._gen
        for i in range(0, len(gen), 2):
            yield f"{self._head}{i // 2 + 1}", (gen[i], gen[i + 1])
        ex = self._ex
        for cid, k in self._by_id.items():
            yield cid, (ex[2 * k], ex[2 * k + 1])

    def __len__(self) -> int:
        """How many commands are remembered: an id lives either in the array or in the dict."""
        return len(self._gen) // 2 + len(self._by_id)

    def state(self) -> dict[str, Any]:
        """The table as plain data (a runtime snapshot): columns, not [id, first, last] triples,
        since a served day has one explicit id per command. ``next_id`` is the counter a fold of
        the log reaches (the highest logged counter), not the live one: a warm start must equal
        a cold one even where the live counter differs from both."""
        by_id = self._by_id
        prefix = self._prefix
        ex = self._ex
        return {
            "next_id": max([len(self._gen) // 2, *(_counter_of(c, prefix) or 0 for c in by_id)]),
            "gen": self._gen.tobytes(),
            "ids": list(by_id),
            "seqs": array("q", [x for k in by_id.values() for x in (ex[2 * k], ex[2 * k + 1])]).tobytes(),
        }

    def restore(self, st: dict[str, Any]) -> int:
        """Replace the table with ``state()``'s data; returns its ``next_id``."""
        self._gen = array("q")
        self._gen.frombytes(st["gen"])
        seqs = array("q")
        seqs.frombytes(st["seqs"])
        ids = st["ids"]
        if len(seqs) != 2 * len(ids):
            raise ValueError(f"command table snapshot: {len(ids)} ids but {len(seqs)} seqs")
        self._ex = seqs
        self._by_id = dict(zip(ids, range(len(ids)), strict=True))
        return int(st["next_id"])

    def clear(self) -> None:
        self._by_id.clear()
        self._ex = array("q")
        self._gen = array("q")


def _counter_of(command_id: str, prefix: str) -> int | None:
    head, sep, tail = command_id.rpartition("-")
    if sep and head == prefix and tail.isdigit():
        return int(tail)
    return None
