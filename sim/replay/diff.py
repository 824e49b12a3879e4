"""What two runs of one order flow did differently: orders, trades, positions, account events.

Records are matched on what the flow names, not on ids the engine assigns (a what-if that rejects
one order shifts every later order id): orders by (account, client order id), trades by the two
orders' client ids and their rank, positions by (account, instrument), account events (risk,
kill switches, margin) by (type, account, rank).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

from sim.replay.export import Book
from sim.replay.ledger import Ledger
from system.eventlog.store import EventStore

_ENGINE_TYPES = {
    "OrderAccepted", "OrderRejected", "OrderCancelled", "OrderExpired", "OrderReduced",
    "OrderReplaced", "TradeExecuted", "StopTriggered", "IcebergReplenished",
}  # fmt: skip
_IDS = ("order_id", "trade_id", "buy_order_id", "sell_order_id", "resting_order_id", "aggressor_order_id")


@dataclass(frozen=True)
class Difference:
    kind: str  # order | trade | position | account
    key: str
    left: Any  # None: only in the right log
    right: Any


def _orders(book: Book) -> dict[str, Any]:
    out: dict[str, Any] = {}
    rank: dict[str, int] = {}
    for r in book.order_rows():
        key = f"{r['account']}/{r['client_order_id']}"
        if r["status"] == "rejected" and r["type"] != "SubmitOrder":
            key += f"/{r['type']}"  # a rejected cancel is a row of its own
            n = rank[key] = rank.get(key, 0) + 1
            key += f" #{n}"
        out.setdefault(
            key, {k: r[k] for k in ("instrument", "side", "price", "qty", "filled", "status", "reason")}
        )
    return out


def _trades(book: Book) -> dict[str, Any]:
    cid = {oid: f"{o.row['account']}/{o.row['client_order_id']}" for oid, o in book.orders.items()}
    out: dict[str, Any] = {}
    rank: dict[str, int] = {}
    for t in book.trade_rows():
        buy = cid.get(t["buy_order_id"], t["buy_account"])
        sell = cid.get(t["sell_order_id"], t["sell_account"])
        base = f"{t['instrument']} {buy} x {sell}"
        n = rank[base] = rank.get(base, 0) + 1
        out[f"{base} #{n}"] = {k: t[k] for k in ("price", "qty", "status", "time_ns")}
    return out


def _positions(store: EventStore) -> dict[str, Any]:
    led = Ledger()
    table = led.appliers()
    for e in store.read(1):
        for fn in table.get(type(e.record), ()):
            fn(e.record)
    return {f"{a} {i}": {"qty": q, "cost": c} for (a, i), (q, c) in sorted(led.positions.items())}


def _account_events(store: EventStore) -> dict[str, Any]:
    out: dict[str, Any] = {}
    rank: dict[str, int] = {}
    for e in store.read(1):
        rec = e.record
        if rec.kind != "event" or e.type in _ENGINE_TYPES:
            continue
        account = getattr(rec, "account", None)
        if account is None and not e.stream.startswith(("account/", "risk/")):
            continue
        base = f"{e.type} {account or e.stream}"
        n = rank[base] = rank.get(base, 0) + 1
        payload = {k: v for k, v in msgspec.to_builtins(rec).items() if k not in _IDS}
        out[f"{base} #{n}"] = payload
    return out


def _pairs(kind: str, a: dict[str, Any], b: dict[str, Any]) -> Iterator[Difference]:
    for key in sorted(a.keys() | b.keys()):
        va, vb = a.get(key), b.get(key)
        if va != vb:
            yield Difference(kind, key, va, vb)


def diff_logs(a: EventStore, b: EventStore) -> list[Difference]:
    ba, bb = Book().fold(a.read(1)), Book().fold(b.read(1))
    return [
        *_pairs("order", _orders(ba), _orders(bb)),
        *_pairs("trade", _trades(ba), _trades(bb)),
        *_pairs("position", _positions(a), _positions(b)),
        *_pairs("account", _account_events(a), _account_events(b)),
    ]
