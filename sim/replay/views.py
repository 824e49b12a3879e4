"""The as-of state as plain data: books (L2 and L3), open orders, phases, positions, balances,
marks, and whatever else the build's components hold (risk margins, pricing marks).

Prices and quantities stay ``int`` instrument units; ``decimal`` helpers give the edge form.
Every list is sorted on explicit keys, so two equal states give byte-identical JSON.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from sim.replay.asof import AsOf
from sim.replay.ledger import Ledger
from system.engine import Instrument, MatchingEngine

# Components whose state is shown through the sections above rather than dumped as is.
_SHOWN = (MatchingEngine, Ledger)


def _dec(x: int, inc: str) -> str:
    return str(x * Decimal(inc))


def amount(inst: Instrument, price_qty: int) -> Decimal:
    """A price*qty sum in instrument units as money in the quote currency."""
    return price_qty * Decimal(inst.price_increment) * Decimal(inst.qty_increment) * Decimal(inst.multiplier)


def _order(o: Any) -> dict[str, Any]:
    return {
        "order_id": o.order_id,
        "instrument": o.instrument,
        "account": o.account,
        "client_order_id": o.client_order_id,
        "side": str(o.side),
        "type": str(o.order_type),
        "price": o.price,
        "qty": o.qty,
        "leaves": o.leaves,
        "visible": o.visible,
        "tif": str(o.tif),
    }


def books(state: AsOf) -> list[dict[str, Any]]:
    eng: MatchingEngine = state.component(MatchingEngine)
    out = []
    for inst_id in eng.instrument_ids():
        b = eng.book(inst_id)
        out.append(
            {
                "instrument": inst_id,
                "phase": str(b.phase),
                "last_price": b.last_price,
                "reference_price": b.reference_price,
                **{
                    side: [
                        {
                            "price": lv.price,
                            "qty": lv.qty,
                            "total": lv.total,
                            "count": lv.count,
                            "orders": [_order(o) for o in lv.orders],
                        }
                        for lv in levels
                    ]
                    for side, levels in (("bids", b.bids), ("asks", b.asks))
                },
            }
        )
    return out


def phases(state: AsOf) -> dict[str, str]:
    eng: MatchingEngine = state.component(MatchingEngine)
    venues = {eng.books[i].venue for i in eng.instrument_ids()} | set(eng.venue_phase)
    return {v: str(eng.phase_of_venue(v)) for v in sorted(venues)}


def positions(state: AsOf) -> list[dict[str, Any]]:
    led = state.ledger
    rows = []
    for (account, inst_id), (qty, cost) in sorted(led.positions.items()):
        inst = led.instruments.get(inst_id)
        mark = led.mark(inst_id)
        pnl = None if mark is None else qty * mark.price - cost
        row: dict[str, Any] = {
            "account": account,
            "instrument": inst_id,
            "qty": qty,
            "cost": cost,
            "mark": None if mark is None else mark.price,
            "pnl": pnl,
        }
        if inst is not None:
            row["currency"] = inst.quote_currency
            row["pnl_amount"] = None if pnl is None else str(amount(inst, pnl))
        rows.append(row)
    return rows


def balances(state: AsOf) -> list[dict[str, Any]]:
    """Cash by account and currency: what trades paid and received (no opening balances)."""
    led = state.ledger
    cash: dict[tuple[str, str], Decimal] = {}
    for (account, inst_id), (_, cost) in led.positions.items():
        inst = led.instruments.get(inst_id)
        if inst is None:
            continue
        k = (account, inst.quote_currency)
        cash[k] = cash.get(k, Decimal(0)) - amount(inst, cost)
    return [{"account": a, "currency": c, "cash": str(v)} for (a, c), v in sorted(cash.items())]


def marks(state: AsOf) -> list[dict[str, Any]]:
    led = state.ledger
    out = []
    for inst_id in sorted(led.marks):
        m = led.mark(inst_id)
        if m is not None:
            out.append({"instrument": inst_id, "price": m.price, "time": m.time, "source": m.source})
    return out


def others(state: AsOf) -> dict[str, Any]:
    """Components this module does not know (risk, pricing): their ``audit_view()`` if they offer
    one, else their snapshot state."""
    out: dict[str, Any] = {}
    for c in state.components:
        if isinstance(c, _SHOWN) or c.name == "corrections":
            continue
        view = getattr(c, "audit_view", None)
        data = view() if callable(view) else c.snapshot_state()
        if data is not None:
            out[c.name] = msgspec.to_builtins(data)
    return out


def state_dict(state: AsOf) -> dict[str, Any]:
    eng: MatchingEngine = state.component(MatchingEngine)
    return {
        "basis": msgspec.to_builtins(state.basis),
        "phases": phases(state),
        "books": books(state),
        "open_orders": [_order(o) for o in eng.open_orders()],
        "positions": positions(state),
        "balances": balances(state),
        "marks": marks(state),
        "components": others(state),
    }


def price_text(state: AsOf, inst_id: str, price: int | None) -> str:
    if price is None:
        return ""
    inst = state.ledger.instruments.get(inst_id)
    return str(price) if inst is None else _dec(price, inst.price_increment)
