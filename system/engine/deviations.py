"""Deliberate rule differences: the one place where a served venue may break Chronex's rules.

They exist for one purpose: to prove that the shadow oracle (``steps/oracle``) and ``chronex
fuzz`` catch a target that behaves differently from the reference. A venue served with
``chronex serve --rule-difference NAME`` (or ``rule_difference`` in its venue profile) runs the
reference engine with exactly these deviations; nothing else changes. The reference engine uses
``REFERENCE`` and never deviates. A deviant served log is not replayable by the reference engine
(that is what a deviation means); its manifest label names the deviation.

- ``replace-keeps-priority``: a replace that raises the quantity keeps time priority (the
  reference sends the order to the back of its level).
- ``reprice-keeps-priority``: a replace that changes the price keeps time priority: at its new
  price the order queues ahead of every order that arrived after it (the reference sends it to
  the back of its new level). The issue's own example of a venue's rule gone wrong.
- ``stp-cancel-oldest``: self-trade prevention CANCEL_NEWEST acts as CANCEL_OLDEST.
- ``tick-off-by-one``: each tick-table row starts one tick of the row below too early, so a price
  one tick under a band boundary (2999.5 on TSE's TOPIX100 table) is off tick.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from system.engine.orders import SelfTradePrevention
from system.engine.refdata import Instrument

if TYPE_CHECKING:
    from system.engine.book import Order


class RuleDifference(StrEnum):
    REPLACE_KEEPS_PRIORITY = "replace-keeps-priority"
    REPRICE_KEEPS_PRIORITY = "reprice-keeps-priority"
    STP_CANCEL_OLDEST = "stp-cancel-oldest"
    TICK_OFF_BY_ONE = "tick-off-by-one"


def parse_differences(text: str | None) -> frozenset[RuleDifference]:
    """``a,b`` -> the set; a clear ValueError naming an unknown one."""
    out: set[RuleDifference] = set()
    for part in (text or "").split(","):
        name = part.strip().lower()
        if not name:
            continue
        try:
            out.add(RuleDifference(name))
        except ValueError:
            known = ", ".join(d.value for d in RuleDifference)
            raise ValueError(f"rule difference {part.strip()!r} is unknown (known: {known})") from None
    return frozenset(out)


@dataclass(frozen=True)
class Rules:
    """The engine's answers to the questions a deviation may change."""

    differences: frozenset[RuleDifference] = frozenset()

    def replace_keeps_priority(
        self, same_price: bool, same_display: bool, leaves: int, old_leaves: int
    ) -> bool:
        d = self.differences
        keeps_qty = leaves <= old_leaves or RuleDifference.REPLACE_KEEPS_PRIORITY in d
        keeps_price = same_price or RuleDifference.REPRICE_KEEPS_PRIORITY in d
        return same_display and keeps_qty and keeps_price

    def stp_mode(self, mode: SelfTradePrevention) -> SelfTradePrevention:
        if RuleDifference.STP_CANCEL_OLDEST in self.differences and mode is SelfTradePrevention.CANCEL_NEWEST:
            return SelfTradePrevention.CANCEL_OLDEST
        return mode

    def tick_at(self, inst: Instrument, price: int) -> int:
        if RuleDifference.TICK_OFF_BY_ONE not in self.differences:
            return inst.tick_at(price)
        rows = inst.tick_table
        tick = rows[0][1]
        for i, (frm, t) in enumerate(rows):
            below = rows[i - 1][1] if i else 0
            if price >= frm - below:
                tick = t
        return tick

    @staticmethod
    def keep_arrival_place(queue: deque[Order], o: Order) -> None:
        """A repriced order that keeps priority (only ``reprice-keeps-priority`` makes one): ``o``,
        just appended to its new level's ``queue``, moves ahead of the live orders that arrived
        after it (order ids grow with arrival)."""
        queue.pop()
        at = next((k for k, x in enumerate(queue) if x.live and x.id > o.id), len(queue))
        queue.insert(at, o)

    def label(self) -> str:
        """How a manifest label names the deviations ('' for the reference)."""
        names = sorted(d.value for d in self.differences)
        return f" (rule difference: {', '.join(names)})" if names else ""


REFERENCE = Rules()

__all__ = ["REFERENCE", "RuleDifference", "Rules", "parse_differences"]
