"""Observations: order events reduced to what an execution report can say, and their comparison.

An observation is a flat dict keyed by what the scenario names (client order ids, accounts), so
the target's order ids never need to match Chronex's. ``compare`` walks the two sequences side
by side and reports the first index that differs; ``render`` prints them as a table with that
row marked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from system.engine import (
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderReduced,
    OrderRejected,
    OrderReplaced,
    TradeExecuted,
)

Observation = dict[str, Any]
OBSERVED = (
    OrderAccepted,
    OrderRejected,
    TradeExecuted,
    OrderCancelled,
    OrderExpired,
    OrderReduced,
    OrderReplaced,
)
FIELDS = ("kind", "order", "account", "side", "qty", "price", "leaves", "reason", "buy", "sell", "time")


@dataclass(frozen=True)
class Tolerances:
    """What the comparison forgives: ``ignore`` names observation fields left out; ``accounts`` maps
    the scenario's accounts to the target's; ``clock_skew_ns`` is the timing window (None: times
    are not compared, the target runs on its own clock)."""

    ignore: frozenset[str] = frozenset()
    accounts: dict[str, str] = field(default_factory=dict)
    clock_skew_ns: int | None = None


@dataclass(frozen=True)
class Divergence:
    index: int  # first observation that differs
    fields: tuple[str, ...]  # what differs there (all of it when one side is missing)
    target: list[Observation]
    oracle: list[Observation]


def observe(rec: Any, t: int, name_of: Callable[[int | None], str]) -> Observation | None:
    """The observation an order event makes (None: not one an execution report carries)."""
    if isinstance(rec, OrderAccepted):
        return {"kind": "accepted", "order": rec.client_order_id, "account": rec.account,
                "side": str(rec.side), "qty": rec.qty, "price": rec.price, "time": t}  # fmt: skip
    if isinstance(rec, OrderRejected):
        return {"kind": f"rejected {rec.command}", "order": rec.client_order_id or name_of(rec.order_id),
                "account": rec.account, "reason": str(rec.reason), "time": t}  # fmt: skip
    if isinstance(rec, TradeExecuted):
        return {"kind": "trade", "qty": rec.qty, "price": rec.price, "buy": name_of(rec.buy_order_id),
                "sell": name_of(rec.sell_order_id), "time": t}  # fmt: skip
    if isinstance(rec, OrderCancelled):
        return {"kind": "cancelled", "order": rec.client_order_id, "qty": rec.qty, "reason": str(rec.reason),
                "time": t}  # fmt: skip
    if isinstance(rec, OrderExpired):
        return {"kind": "expired", "order": rec.client_order_id, "qty": rec.qty, "time": t}
    if isinstance(rec, OrderReduced):
        return {"kind": "reduced", "order": name_of(rec.order_id), "leaves": rec.leaves,
                "reason": str(rec.reason), "time": t}  # fmt: skip
    if isinstance(rec, OrderReplaced):
        return {"kind": "replaced", "order": name_of(rec.order_id), "qty": rec.qty, "price": rec.price,
                "leaves": rec.leaves, "time": t}  # fmt: skip
    return None


def _differs(key: str, a: Any, b: Any, tol: Tolerances) -> bool:
    if key == "time":
        if tol.clock_skew_ns is None or a is None or b is None:
            return False
        return bool(abs(int(a) - int(b)) > tol.clock_skew_ns)
    if key == "account" and isinstance(b, str):
        b = tol.accounts.get(b, b)
    return bool(a != b)


def compare(
    target: Sequence[Observation], oracle: Sequence[Observation], tol: Tolerances
) -> Divergence | None:
    """The first place the target's observations differ from the oracle's (None: they agree)."""
    for i in range(max(len(target), len(oracle))):
        if i >= len(target) or i >= len(oracle):
            return Divergence(i, ("missing",), list(target), list(oracle))
        a, b = target[i], oracle[i]
        keys = [k for k in FIELDS if k not in tol.ignore and (k in a or k in b)]
        bad = tuple(k for k in keys if _differs(k, a.get(k), b.get(k), tol))
        if bad:
            return Divergence(i, bad, list(target), list(oracle))
    return None


def _cell(o: Observation | None, ignore: frozenset[str]) -> str:
    if o is None:
        return "(nothing)"
    return " ".join(f"{k}={o[k]}" for k in FIELDS if k in o and k not in ignore and o[k] not in (None, ""))


def render(
    d: Divergence, action: str, tol: Tolerances, fmt: Callable[[Observation], Observation] | None = None
) -> str:
    """The two sequences side by side, the first divergence marked ``>>``, what differs named."""
    show = fmt or (lambda o: o)
    ignore = tol.ignore | (frozenset({"time"}) if tol.clock_skew_ns is None else frozenset())
    left = [_cell(show(o), ignore) for o in d.target]
    right = [_cell(show(o), ignore) for o in d.oracle]
    n = max(len(left), len(right))
    left += ["(nothing)"] * (n - len(left))
    right += ["(nothing)"] * (n - len(right))
    w = max([len("target"), *map(len, left)])
    lines = [
        f"The target and the oracle differ after {action}: first at observation {d.index + 1} "
        f"({', '.join(d.fields)})",
        f"   {'target':<{w}} | oracle (Chronex reference)",
    ]
    for i in range(n):
        mark = ">> " if i == d.index else "   "
        lines.append(f"{mark}{left[i]:<{w}} | {right[i]}")
    return "\n".join(lines)


def as_json_lines(obs: Sequence[Observation]) -> str:
    return "\n".join(json.dumps(o, sort_keys=True) for o in obs)
