"""A log as pandas DataFrames (events, orders, trades, bars) for notebooks, and files for tools.

    from sim.replay.export import frames
    df = frames(store)["trades"]          # or events_frame(store), orders_frame(store), bars_frame(store)

Prices and quantities stay ``int`` instrument units (``price_increment``/``qty_increment`` columns
give their scale); every instant is both ``*_ns`` (int) and a UTC ``datetime64`` column.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pandas as pd

from system.corrections import LateTradeReported, TradeBusted, TradeCorrected
from system.engine import (
    InstrumentListed,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderReduced,
    OrderRejected,
    OrderReplaced,
    TradeExecuted,
)
from system.eventlog.codec import LoggedEvent
from system.eventlog.store import EventStore
from system.wholefile import written_whole

WHATS = ("events", "orders", "trades", "bars")
_json = msgspec.json.Encoder(order="deterministic")


def _utc(ns: pd.Series) -> pd.Series:
    return pd.to_datetime(ns.astype("int64"), unit="ns", utc=True)


def events_frame(store: EventStore | Iterable[LoggedEvent]) -> pd.DataFrame:
    evs = store.read(1) if isinstance(store, EventStore) else store
    rows = [
        {
            "seq": e.seq,
            "stream": e.stream,
            "type": e.type,
            "kind": e.record.kind,
            "valid_time_ns": e.valid_time,
            "recorded_time_ns": e.recorded_time,
            "correlation_id": e.correlation_id,
            "causation_id": e.causation_id,
            "payload": _json.encode(e.record).decode(),
            "hash": e.hash.hex(),
        }
        for e in evs
    ]
    df = pd.DataFrame(rows, columns=[
        "seq", "stream", "type", "kind", "valid_time_ns", "recorded_time_ns", "correlation_id",
        "causation_id", "payload", "hash",
    ])  # fmt: skip
    df["valid_time"] = _utc(df["valid_time_ns"])
    df["recorded_time"] = _utc(df["recorded_time_ns"])
    return df


@dataclass
class _Order:
    row: dict[str, Any]
    filled: int = 0


@dataclass
class Book:
    """Orders and trades folded from a log (the corrected view, with both versions of trades)."""

    orders: dict[int, _Order] = field(default_factory=dict)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    trades: dict[int, dict[str, Any]] = field(default_factory=dict)
    late: list[dict[str, Any]] = field(default_factory=list)
    scales: dict[str, tuple[str, str]] = field(default_factory=dict)

    def fold(self, evs: Iterable[LoggedEvent]) -> Book:
        for e in evs:
            self._one(e, e.record)
        return self

    def _one(self, e: LoggedEvent, r: Any) -> None:
        if isinstance(r, InstrumentListed):
            self.scales[r.instrument.id] = (r.instrument.price_increment, r.instrument.qty_increment)
        elif isinstance(r, OrderAccepted):
            self.orders[r.order_id] = _Order({
                "order_id": r.order_id, "instrument": r.instrument, "account": r.account,
                "client_order_id": r.client_order_id, "side": str(r.side), "type": str(r.order_type),
                "price": r.price, "qty": r.qty, "tif": str(r.tif), "time_ns": r.time,
                "status": "open", "leaves": r.qty, "reason": "", "seq": e.seq,
            })  # fmt: skip
        elif isinstance(r, OrderRejected):
            self.rejected.append({
                "order_id": r.order_id, "instrument": r.instrument, "account": r.account,
                "client_order_id": r.client_order_id, "side": "", "type": r.command, "price": None,
                "qty": 0, "tif": "", "time_ns": e.valid_time, "status": "rejected", "leaves": 0,
                "reason": f"{r.reason}: {r.text}", "seq": e.seq,
            })  # fmt: skip
        elif isinstance(r, TradeExecuted):
            for oid in (r.buy_order_id, r.sell_order_id):
                o = self.orders.get(oid)
                if o is not None:
                    o.filled += r.qty
                    o.row["leaves"] -= r.qty
                    if o.row["leaves"] <= 0:
                        o.row["status"] = "filled"
            self.trades[r.trade_id] = {
                "trade_id": r.trade_id, "instrument": r.instrument, "price": r.price, "qty": r.qty,
                "buy_account": r.buy_account, "sell_account": r.sell_account,
                "buy_order_id": r.buy_order_id, "sell_order_id": r.sell_order_id,
                "aggressor": "" if r.aggressor is None else str(r.aggressor), "time_ns": r.time,
                "status": "ok", "original_price": r.price, "original_qty": r.qty, "seq": e.seq,
                "amended_seq": None,
            }  # fmt: skip
        elif isinstance(r, OrderCancelled | OrderExpired):
            o = self.orders.get(r.order_id)
            if o is not None:
                o.row["status"] = "cancelled" if isinstance(r, OrderCancelled) else "expired"
                o.row["reason"] = str(r.reason)
                o.row["leaves"] = 0
        elif isinstance(r, OrderReduced):
            o = self.orders.get(r.order_id)
            if o is not None:
                o.row["leaves"] = r.leaves
        elif isinstance(r, OrderReplaced):
            o = self.orders.get(r.order_id)
            if o is not None:
                o.row.update(price=r.price, qty=r.qty, leaves=r.leaves)
        elif isinstance(r, TradeBusted | TradeCorrected):
            t = self.trades.get(r.trade_id)
            if t is not None:
                t["amended_seq"] = e.seq
                if isinstance(r, TradeBusted):
                    t["status"] = "busted"
                else:
                    t.update(status="corrected", price=r.price, qty=r.qty)
        elif isinstance(r, LateTradeReported):
            self.late.append({
                "trade_id": -r.report_id, "instrument": r.instrument, "price": r.price, "qty": r.qty,
                "buy_account": r.buy_account, "sell_account": r.sell_account, "buy_order_id": None,
                "sell_order_id": None, "aggressor": "", "time_ns": r.trade_time, "status": "late",
                "original_price": r.price, "original_qty": r.qty, "seq": e.seq, "amended_seq": None,
            })  # fmt: skip

    def order_rows(self) -> list[dict[str, Any]]:
        rows = [{**o.row, "filled": o.filled} for o in self.orders.values()]
        rows += [{**r, "filled": 0} for r in self.rejected]
        rows.sort(key=lambda r: r["seq"])
        return rows

    def trade_rows(self) -> list[dict[str, Any]]:
        return sorted([*self.trades.values(), *self.late], key=lambda r: (r["time_ns"], r["seq"]))


def _with_scale(df: pd.DataFrame, book: Book) -> pd.DataFrame:
    df["price_increment"] = [book.scales.get(i, ("1", "1"))[0] for i in df["instrument"]]
    df["qty_increment"] = [book.scales.get(i, ("1", "1"))[1] for i in df["instrument"]]
    df["time"] = _utc(df["time_ns"])
    return df


_ORDER_COLS = [
    "seq", "order_id", "instrument", "account", "client_order_id", "side", "type", "price", "qty",
    "filled", "leaves", "tif", "status", "reason", "time_ns",
]  # fmt: skip
_TRADE_COLS = [
    "seq", "trade_id", "instrument", "price", "qty", "buy_account", "sell_account", "buy_order_id",
    "sell_order_id", "aggressor", "status", "original_price", "original_qty", "amended_seq", "time_ns",
]  # fmt: skip


def orders_frame(store: EventStore, book: Book | None = None) -> pd.DataFrame:
    b = book if book is not None else Book().fold(store.read(1))
    df = pd.DataFrame(b.order_rows(), columns=_ORDER_COLS)
    df["order_id"] = df["order_id"].astype("Int64")
    df["price"] = df["price"].astype("Int64")
    return _with_scale(df, b)


def trades_frame(store: EventStore, book: Book | None = None) -> pd.DataFrame:
    """Every trade with its status: ok, busted, corrected (price/qty are the corrected ones,
    ``original_*`` what was first reported) or late (reported after the fact)."""
    b = book if book is not None else Book().fold(store.read(1))
    df = pd.DataFrame(b.trade_rows(), columns=_TRADE_COLS)
    for c in ("buy_order_id", "sell_order_id", "amended_seq"):
        df[c] = df[c].astype("Int64")
    return _with_scale(df, b)


def bars_frame(store: EventStore, interval: str = "1min", book: Book | None = None) -> pd.DataFrame:
    """OHLC bars per instrument from the corrected trades (busts left out, corrections applied)."""
    trades = trades_frame(store, book)
    trades = trades[trades["status"] != "busted"]
    cols = ["instrument", "start", "open", "high", "low", "close", "volume", "trades"]
    if trades.empty:
        return pd.DataFrame(columns=cols)
    out = []
    for inst, g in trades.sort_values(["time_ns", "seq"]).groupby("instrument", sort=True):
        r = g.set_index("time")["price"].astype("int64").resample(interval)
        bars = pd.DataFrame({
            "open": r.first(), "high": r.max(), "low": r.min(), "close": r.last(),
            "volume": g.set_index("time")["qty"].astype("int64").resample(interval).sum(),
            "trades": r.count(),
        }).dropna()  # fmt: skip
        bars = bars[bars["trades"] > 0].reset_index(names="start")
        bars.insert(0, "instrument", inst)
        out.append(bars)
    df = pd.concat(out, ignore_index=True)
    for c in ("open", "high", "low", "close", "volume", "trades"):
        df[c] = df[c].astype("int64")
    return df[cols]


def frames(store: EventStore, what: Iterable[str] = WHATS, interval: str = "1min") -> dict[str, pd.DataFrame]:
    book = Book().fold(store.read(1))
    makers = {
        "events": lambda: events_frame(store),
        "orders": lambda: orders_frame(store, book),
        "trades": lambda: trades_frame(store, book),
        "bars": lambda: bars_frame(store, interval, book),
    }
    return {w: makers[w]() for w in what}


INTEGRITY_KEY = b"chronex.integrity"


def export(
    store: EventStore, directory: str | Path, what: Iterable[str], fmt: str, *, warning: str | None = None
) -> list[Path]:
    """Write each frame as ``DIR/<what>.<fmt>`` (parquet or csv); returns the paths written.

    ``warning`` (a tampered log's verdict) heads each file: a ``# `` first line in CSV (read it
    back with ``pd.read_csv(p, comment="#")``), the ``chronex.integrity`` key of the Parquet
    schema's metadata."""
    d = Path(directory)
    built = frames(store, what)  # everything is computed before the first file is created
    d.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in built.items():
        p = d / f"{name}.{fmt}"
        # Each file appears whole or not at all: a CSV cut at a row boundary looks complete.
        with written_whole(p) as tmp:
            if fmt == "parquet":
                _parquet(df, tmp, warning)
            else:
                with tmp.open("w", encoding="utf-8", newline="") as f:
                    if warning is not None:
                        f.write(f"# {warning}\n")
                    df.to_csv(f, index=False)
        paths.append(p)
    return paths


def _parquet(df: pd.DataFrame, p: Path, warning: str | None) -> None:
    if warning is None:
        df.to_parquet(p, index=False)
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[INTEGRITY_KEY] = warning.encode()
    pq.write_table(table.replace_schema_metadata(meta), p)
