"""A subscriber's book rebuilt from ITCH 5.0 messages: what a firm's feed handler does.

``FeedBook.apply(msg)`` takes one message (bytes); ``book(symbol)`` gives the levels best first,
each with its orders in priority order as ``(order ref, shares)``; ``tape`` holds the prints
(E, C printable, P, Q) as ``Print`` tuples. Orders join the back of their level on A, F and U.
"""

from __future__ import annotations

from typing import NamedTuple

from system.gateways.itch.messages import BadMessage, decode


class Print(NamedTuple):
    type: str
    stock: str
    price: int  # 4 implied decimals
    shares: int
    match: int
    ref: int  # the order executed (0 for a cross)


class _Order:
    __slots__ = ("is_buy", "price", "shares", "stock")

    def __init__(self, stock: str, is_buy: bool, price: int, shares: int) -> None:
        self.stock = stock
        self.is_buy = is_buy
        self.price = price
        self.shares = shares


Level = tuple[int, list[tuple[int, int]]]  # (price, [(ref, shares), ...])


class FeedBook:
    def __init__(self) -> None:
        self.symbols: dict[int, str] = {}  # locate -> stock
        self.states: dict[str, str] = {}  # stock -> trading state
        self.orders: dict[int, _Order] = {}
        # stock -> side -> price -> {ref: None} (dicts keep insertion order: time priority)
        self.levels: dict[str, tuple[dict[int, dict[int, None]], dict[int, dict[int, None]]]] = {}
        self.tape: list[Print] = []
        self.imbalances: dict[str, tuple[int, int, str, int]] = {}
        self.events: list[str] = []  # system event codes
        self.count = 0
        self.next_seq: int | None = None  # from a GLIMPSE end of snapshot

    def apply(self, msg: bytes) -> None:
        f = decode(msg)
        self.count += 1
        t = f[0]
        if t == "A" or t == "F":
            self._add(f[4], f[7].decode().rstrip(), f[5] == b"B", f[8], f[6])
        elif t == "E":
            self._exec(f[4], f[5], f[6], None)
        elif t == "C":
            self._exec(f[4], f[5], f[6], f[8] if f[7] == b"Y" else None)
        elif t == "X":
            self._reduce(f[4], f[5])
        elif t == "D":
            self._remove(f[4])
        elif t == "U":
            o = self.orders.get(f[4])
            if o is None:
                raise BadMessage(f"replace of unknown order {f[4]}")
            self._remove(f[4])
            self._add(f[5], o.stock, o.is_buy, f[7], f[6])
        elif t == "P":
            self.tape.append(Print("P", f[7].decode().rstrip(), f[8], f[6], f[9], f[4]))
        elif t == "Q":
            self.tape.append(Print("Q", f[5].decode().rstrip(), f[6], f[4], f[7], 0))
        elif t == "R":
            stock = f[4].decode().rstrip()
            self.symbols[f[1]] = stock
            self.levels.setdefault(stock, ({}, {}))
        elif t == "H":
            self.states[f[4].decode().rstrip()] = f[5].decode()
        elif t == "I":
            self.imbalances[f[7].decode().rstrip()] = (f[4], f[5], f[6].decode(), f[9])
        elif t == "S":
            self.events.append(f[4].decode())
        elif t == "G":
            self.next_seq = f[4]

    def _add(self, ref: int, stock: str, is_buy: bool, price: int, shares: int) -> None:
        if ref in self.orders:
            raise BadMessage(f"order reference {ref} added twice")
        self.orders[ref] = _Order(stock, is_buy, price, shares)
        side = self.levels.setdefault(stock, ({}, {}))[0 if is_buy else 1]
        side.setdefault(price, {})[ref] = None

    def _exec(self, ref: int, shares: int, match: int, price: int | None) -> None:
        o = self.orders.get(ref)
        if o is None:
            raise BadMessage(f"execution of unknown order {ref}")
        px = price if price is not None else o.price
        self.tape.append(Print("E" if price is None else "C", o.stock, px, shares, match, ref))
        self._reduce(ref, shares)

    def _reduce(self, ref: int, shares: int) -> None:
        o = self.orders.get(ref)
        if o is None:
            raise BadMessage(f"cancel of unknown order {ref}")
        left = o.shares - shares
        if left < 0:
            raise BadMessage(f"order {ref} reduced by {shares} but shows only {o.shares}")
        if left == 0:
            self._remove(ref)
        else:
            o.shares = left

    def _remove(self, ref: int) -> None:
        o = self.orders.pop(ref, None)
        if o is None:
            raise BadMessage(f"delete of unknown order {ref}")
        side = self.levels[o.stock][0 if o.is_buy else 1]
        lvl = side[o.price]
        del lvl[ref]
        if not lvl:
            del side[o.price]

    def book(self, stock: str) -> tuple[list[Level], list[Level]]:
        """(bids, asks), best first."""
        bids, asks = self.levels.get(stock, ({}, {}))

        def side(levels: dict[int, dict[int, None]], rev: bool) -> list[Level]:
            return [(p, [(r, self.orders[r].shares) for r in levels[p]]) for p in sorted(levels, reverse=rev)]

        return side(bids, True), side(asks, False)
