"""Putting a simulated (float) price on an instrument's tick grid, as an int.

Agents think in floats (a fair value, a spread); what they send is always an int price that the
engine accepts: a positive multiple of the tick that applies at that price.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from itertools import pairwise

from system.engine import Instrument

_TOP = 1 << 62  # above every price: the upper end of a table's last band


class Grid:
    """Tick arithmetic for one instrument (tick tables by price band included)."""

    __slots__ = ("_hi", "_lo", "_t", "fixed", "froms", "inst", "table", "ticks")

    def __init__(self, inst: Instrument) -> None:
        self.inst = inst
        self.table = inst.tick_table
        self.fixed = inst.tick_table[0][1] if len(inst.tick_table) == 1 else 0
        # A table starting at 0 with rising rows, as lists for a bisect; agents ask for the tick of
        # prices near the last one, so the band found last, (lo, hi] -> tick, answers most asks.
        froms = [frm for frm, _ in self.table]
        ok = bool(froms) and froms[0] == 0 and all(a < b for a, b in pairwise(froms))
        self.froms = froms if ok else []
        self.ticks = [t for _, t in self.table] if ok else []
        self._lo, self._hi, self._t = 0, 0, 0  # no band cached yet: (0, 0] holds no price

    def tick(self, price: int) -> int:
        """The tick at ``price`` (the smallest when the price is not positive)."""
        if self.fixed:
            return self.fixed
        if self._lo < price <= self._hi:
            return self._t
        froms = self.froms
        if not froms:
            return self.inst.tick_at(max(price, 1))
        # The tick of the last row starting below the price (as Instrument.tick_at), for price >= 1.
        i = bisect_left(froms, price) if price > 1 else 1
        self._lo = froms[i - 1]
        self._hi = froms[i] if i < len(froms) else _TOP
        self._t = t = self.ticks[i - 1]
        return t

    def down(self, x: float) -> int:
        """The highest valid price at or below ``x`` (at least one tick)."""
        p = max(math.floor(x), 1)
        t = self.tick(p)
        p -= p % t
        return p if p > 0 else t

    def up(self, x: float) -> int:
        """The lowest valid price at or above ``x``."""
        p = max(math.ceil(x), 1)
        t = self.tick(p)
        r = p % t
        if r:
            p += t - r
            t2 = self.tick(p)  # moving up may enter a band with a coarser tick
            if p % t2:
                p += t2 - p % t2
        return p

    def nearest(self, x: float) -> int:
        lo, hi = self.down(x), self.up(x)
        return lo if x - lo <= hi - x else hi

    def shift(self, price: int, n: int) -> int:
        """``price`` moved ``n`` ticks (down when negative), staying positive."""
        p = price
        if n > 0:
            for _ in range(n):
                p = self.up(p + 1)
        else:
            for _ in range(-n):
                if p <= self.tick(p):
                    break
                p = self.down(p - 1)
        return p
