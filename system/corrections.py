"""Corrections: busts, trade corrections, late trade reports and price corrections.

Bitemporal model (docs/replay.md): a correction is logged when it is made (its recorded_time is
the clock's now) but carries the valid time it amends (the original trade's time, the late trade's
time, the price's instant). So "as of valid time T" folds the corrected history, while "as known at
recorded time R" leaves out corrections recorded after R.
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from typing import Any, NamedTuple

import msgspec

from system.engine.events import TradeExecuted
from system.eventlog.records import Command, Event
from system.runtime import Component, Context, applies, handles


class BustTrade(Command, frozen=True):
    """Cancel a trade as if it never happened (positions and bars revert)."""

    trade_id: int
    reason: str = ""

    def stream(self) -> str:
        return "input/corrections"


class CorrectTrade(Command, frozen=True):
    """Replace a trade's price and/or quantity."""

    trade_id: int
    price: int | None = None
    qty: int | None = None
    reason: str = ""

    def stream(self) -> str:
        return "input/corrections"


class ReportLateTrade(Command, frozen=True):
    """A trade done away from the book (or reported late), effective at ``trade_time``."""

    instrument: str
    price: int
    qty: int
    buy_account: str
    sell_account: str
    trade_time: int
    reason: str = ""

    def stream(self) -> str:
        return "input/corrections"


class CorrectPrice(Command, frozen=True):
    """A published price (mark, close) was wrong at ``at``: this is the right one."""

    instrument: str
    price: int
    at: int
    reason: str = ""

    def stream(self) -> str:
        return "input/corrections"


class TradeBusted(Event, frozen=True):
    trade_id: int
    instrument: str
    price: int
    qty: int
    buy_account: str
    sell_account: str
    trade_time: int
    reason: str

    def stream(self) -> str:
        return f"book/{self.instrument}"


class TradeCorrected(Event, frozen=True):
    trade_id: int
    instrument: str
    old_price: int
    old_qty: int
    price: int
    qty: int
    buy_account: str
    sell_account: str
    trade_time: int
    reason: str

    def stream(self) -> str:
        return f"book/{self.instrument}"


class LateTradeReported(Event, frozen=True):
    report_id: int
    instrument: str
    price: int
    qty: int
    buy_account: str
    sell_account: str
    trade_time: int
    reason: str

    def stream(self) -> str:
        return f"book/{self.instrument}"


class PriceCorrected(Event, frozen=True):
    instrument: str
    price: int
    at: int
    reason: str

    def stream(self) -> str:
        return f"prices/{self.instrument}"


class CorrectionRejected(Event, frozen=True):
    command: str
    trade_id: int | None
    text: str

    def stream(self) -> str:
        return "corrections"


def pack_ints(xs: array[int] | Iterable[int]) -> bytes:
    """Ints as little-endian int64 bytes: snapshots restore a column with one C-level copy, and
    the bytes (so the state hashes) are the same on every machine."""
    a = xs if isinstance(xs, array) else array("q", xs)
    if _BIG:
        a = array("q", a)
        a.byteswap()
    return a.tobytes()


def unpack_ints(b: bytes) -> array[int]:
    a = array("q")
    a.frombytes(b)
    if _BIG:
        a.byteswap()
    return a


_BIG = sys.byteorder == "big"


class Trade(NamedTuple):
    """One trade as the corrections component knows it (a row of ``TradeTable``)."""

    instrument: str
    price: int
    qty: int
    buy_account: str
    sell_account: str
    time: int
    busted: bool


class TradeTableState(msgspec.Struct, frozen=True):
    """``TradeTable`` as columns: names are the distinct strings in order of first use; the other
    columns are int64 bytes (``pack_ints``), one row per trade in the table's order."""

    names: list[str]
    ids: bytes
    instrument: bytes
    price: bytes
    qty: bytes
    buy: bytes
    sell: bytes
    time: bytes
    busted: bytes


class TradeTable:
    """Every trade of the day by id, as int columns (strings interned into ``names``).

    It grows with every trade and the replayer restores it on every as-of query, so it is kept
    in the shape it is stored in: restoring it copies a few byte strings, with no object per
    trade. Ids arrive ascending from the engine, so a lookup is a binary search."""

    __slots__ = (
        "_busted", "_buy", "_ids", "_inst", "_ix", "_names", "_price", "_qty", "_sell", "_sorted",
        "_time",
    )  # fmt: skip

    def __init__(self) -> None:
        self._names: list[str] = []
        self._ix: dict[str, int] = {}
        self._ids = array("q")
        self._inst = array("q")
        self._price = array("q")
        self._qty = array("q")
        self._buy = array("q")
        self._sell = array("q")
        self._time = array("q")
        self._busted = bytearray()
        self._sorted = True

    def __len__(self) -> int:
        return len(self._ids)

    def _name(self, s: str) -> int:
        i = self._ix.get(s)
        if i is None:
            i = self._ix[s] = len(self._names)
            self._names.append(s)
        return i

    def add(
        self, trade_id: int, instrument: str, price: int, qty: int, buy: str, sell: str, time: int
    ) -> None:
        ids = self._ids
        if ids and trade_id <= ids[-1]:
            self._sorted = False
        ids.append(trade_id)
        self._inst.append(self._name(instrument))
        self._price.append(price)
        self._qty.append(qty)
        self._buy.append(self._name(buy))
        self._sell.append(self._name(sell))
        self._time.append(time)
        self._busted.append(0)

    def _row(self, trade_id: int) -> int | None:
        ids = self._ids
        if self._sorted:
            i = bisect_left(ids, trade_id)
            return i if i < len(ids) and ids[i] == trade_id else None
        try:
            return ids.index(trade_id)
        except ValueError:
            return None

    def get(self, trade_id: int) -> Trade | None:
        i = self._row(trade_id)
        if i is None:
            return None
        n = self._names
        return Trade(
            n[self._inst[i]], self._price[i], self._qty[i], n[self._buy[i]], n[self._sell[i]],
            self._time[i], bool(self._busted[i]),
        )  # fmt: skip

    def bust(self, trade_id: int) -> None:
        i = self._row(trade_id)
        if i is not None:
            self._busted[i] = 1

    def correct(self, trade_id: int, price: int, qty: int) -> None:
        i = self._row(trade_id)
        if i is not None:
            self._price[i] = price
            self._qty[i] = qty

    def ids(self) -> list[int]:
        return self._ids.tolist()

    # -- snapshots -------------------------------------------------------------------------------
    def state(self) -> TradeTableState:
        t = self if self._sorted else self._sorted_copy()
        return TradeTableState(
            list(t._names), pack_ints(t._ids), pack_ints(t._inst), pack_ints(t._price),
            pack_ints(t._qty), pack_ints(t._buy), pack_ints(t._sell), pack_ints(t._time),
            bytes(t._busted),
        )  # fmt: skip

    def _sorted_copy(self) -> TradeTable:
        # Out-of-order ids (never from the engine): rebuild in id order so equal tables have
        # equal snapshots whatever order they were filled in.
        out = TradeTable()
        for tid in sorted(self._ids):
            t = self.get(tid)
            assert t is not None
            out.add(tid, t.instrument, t.price, t.qty, t.buy_account, t.sell_account, t.time)
            if t.busted:
                out.bust(tid)
        return out

    @classmethod
    def from_state(cls, s: TradeTableState) -> TradeTable:
        t = cls()
        t._names = list(s.names)
        t._ix = {name: i for i, name in enumerate(t._names)}
        t._ids = unpack_ints(s.ids)
        t._inst = unpack_ints(s.instrument)
        t._price = unpack_ints(s.price)
        t._qty = unpack_ints(s.qty)
        t._buy = unpack_ints(s.buy)
        t._sell = unpack_ints(s.sell)
        t._time = unpack_ints(s.time)
        t._busted = bytearray(s.busted)
        return t


class CorrectionsState(msgspec.Struct, frozen=True):
    trades: TradeTableState
    late_reports: int


class Corrections(Component):
    """Validates corrections against the trades it has folded, and emits them at the amended time."""

    name = "corrections"

    def __init__(self) -> None:
        self.trades = TradeTable()
        self.late_reports = 0

    # -- snapshots -------------------------------------------------------------------------------
    def snapshot_state(self) -> CorrectionsState:
        return CorrectionsState(self.trades.state(), self.late_reports)

    def restore_state(self, state: Any) -> None:
        s = state if isinstance(state, CorrectionsState) else msgspec.convert(state, CorrectionsState)
        self.trades = TradeTable.from_state(s.trades)
        self.late_reports = s.late_reports

    # -- commands --------------------------------------------------------------------------------
    def _known(self, cmd_name: str, trade_id: int, ctx: Context) -> Trade | None:
        t = self.trades.get(trade_id)
        if t is None:
            ctx.emit(CorrectionRejected(cmd_name, trade_id, f"unknown trade id {trade_id}"))
            return None
        if t.busted:
            ctx.emit(CorrectionRejected(cmd_name, trade_id, f"trade {trade_id} is already busted"))
            return None
        return t

    @handles(BustTrade)
    def bust(self, cmd: BustTrade, ctx: Context) -> bool:
        t = self._known("BustTrade", cmd.trade_id, ctx)
        if t is not None:
            ctx.emit(
                TradeBusted(
                    cmd.trade_id, t.instrument, t.price, t.qty, t.buy_account, t.sell_account,
                    t.time, cmd.reason,
                ),
                valid_time=t.time,
            )
        return True

    @handles(CorrectTrade)
    def correct(self, cmd: CorrectTrade, ctx: Context) -> bool:
        t = self._known("CorrectTrade", cmd.trade_id, ctx)
        if t is None:
            return True
        price = t.price if cmd.price is None else cmd.price
        qty = t.qty if cmd.qty is None else cmd.qty
        if price <= 0 or qty <= 0:
            text = f"price {price} and qty {qty} must be positive"
            ctx.emit(CorrectionRejected("CorrectTrade", cmd.trade_id, text))
            return True
        ctx.emit(
            TradeCorrected(
                cmd.trade_id, t.instrument, t.price, t.qty, price, qty, t.buy_account,
                t.sell_account, t.time, cmd.reason,
            ),
            valid_time=t.time,
        )
        return True

    @handles(ReportLateTrade)
    def late(self, cmd: ReportLateTrade, ctx: Context) -> bool:
        if cmd.price <= 0 or cmd.qty <= 0:
            text = f"price {cmd.price} and qty {cmd.qty} must be positive"
            ctx.emit(CorrectionRejected("ReportLateTrade", None, text))
            return True
        if cmd.trade_time > ctx.now:
            ctx.emit(CorrectionRejected("ReportLateTrade", None, "a late trade cannot be in the future"))
            return True
        ctx.emit(
            LateTradeReported(
                self.late_reports + 1, cmd.instrument, cmd.price, cmd.qty, cmd.buy_account,
                cmd.sell_account, cmd.trade_time, cmd.reason,
            ),
            valid_time=cmd.trade_time,
        )
        return True

    @handles(CorrectPrice)
    def price(self, cmd: CorrectPrice, ctx: Context) -> bool:
        if cmd.price <= 0 or cmd.at > ctx.now:
            text = f"price {cmd.price} at {cmd.at} is not a valid correction"
            ctx.emit(CorrectionRejected("CorrectPrice", None, text))
            return True
        ctx.emit(PriceCorrected(cmd.instrument, cmd.price, cmd.at, cmd.reason), valid_time=cmd.at)
        return True

    # -- fold ------------------------------------------------------------------------------------
    @applies(TradeExecuted)
    def _trade(self, ev: TradeExecuted) -> None:
        self.trades.add(
            ev.trade_id, ev.instrument, ev.price, ev.qty, ev.buy_account, ev.sell_account, ev.time
        )

    @applies(TradeBusted)
    def _busted(self, ev: TradeBusted) -> None:
        self.trades.bust(ev.trade_id)

    @applies(TradeCorrected)
    def _corrected(self, ev: TradeCorrected) -> None:
        self.trades.correct(ev.trade_id, ev.price, ev.qty)

    @applies(LateTradeReported)
    def _late(self, ev: LateTradeReported) -> None:
        self.late_reports = max(self.late_reports, ev.report_id)
