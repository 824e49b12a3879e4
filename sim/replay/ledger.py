"""The auditor's ledger: positions, cash and marks folded from trades and their corrections.

It is a fold only (no handlers), so it never changes what the system decides; the replayer runs it
beside the system's components to answer "what did every account hold at T", whatever risk and
pricing components a build has. Integers inside: ``cost`` is the signed sum of price * qty in
instrument units; Decimal amounts appear only in ``views``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from system.corrections import LateTradeReported, PriceCorrected, TradeBusted, TradeCorrected
from system.engine import Instrument, InstrumentListed, TradeExecuted
from system.runtime import Component, applies

# A bust of the trade that set the mark falls back to the one before it: keep a few.
_MARK_DEPTH = 16


class Mark(msgspec.Struct, array_like=True, frozen=True):
    time: int
    price: int
    source: str  # "trade:<id>", "late:<id>", "correction"


class LedgerState(msgspec.Struct, frozen=True):
    instruments: list[Instrument]
    positions: list[tuple[str, str, int, int]]  # account, instrument, qty, cost
    marks: list[tuple[str, list[Mark]]]
    trades: int
    busted: int
    corrected: int
    late: int


class Ledger(Component):
    name = "ledger"

    def __init__(self) -> None:
        self.instruments: dict[str, Instrument] = {}
        self.positions: dict[tuple[str, str], list[int]] = {}  # (account, instrument) -> [qty, cost]
        self.marks: dict[str, list[Mark]] = {}  # instrument -> recent marks, latest time last
        self.trades = 0
        self.busted = 0
        self.corrected = 0
        self.late = 0

    def _fill(self, buy: str, sell: str, instrument: str, price: int, qty: int, sign: int) -> None:
        for account, s in ((buy, 1), (sell, -1)):
            p = self.positions.get((account, instrument))
            if p is None:
                p = self.positions[(account, instrument)] = [0, 0]
            p[0] += sign * s * qty
            p[1] += sign * s * qty * price

    def _mark(self, instrument: str, m: Mark) -> None:
        hist = self.marks.setdefault(instrument, [])
        hist.append(m)
        hist.sort(key=lambda x: x.time)  # stable: equal times keep folding order
        del hist[:-_MARK_DEPTH]

    def _unmark(self, instrument: str, source: str) -> None:
        hist = self.marks.get(instrument)
        if hist:
            hist[:] = [m for m in hist if m.source != source]

    @applies(InstrumentListed)
    def _listed(self, ev: InstrumentListed) -> None:
        self.instruments[ev.instrument.id] = ev.instrument

    @applies(TradeExecuted)
    def _trade(self, ev: TradeExecuted) -> None:
        self.trades += 1
        self._fill(ev.buy_account, ev.sell_account, ev.instrument, ev.price, ev.qty, 1)
        self._mark(ev.instrument, Mark(ev.time, ev.price, f"trade:{ev.trade_id}"))

    @applies(TradeBusted)
    def _bust(self, ev: TradeBusted) -> None:
        self.busted += 1
        self._fill(ev.buy_account, ev.sell_account, ev.instrument, ev.price, ev.qty, -1)
        self._unmark(ev.instrument, f"trade:{ev.trade_id}")

    @applies(TradeCorrected)
    def _correct(self, ev: TradeCorrected) -> None:
        self.corrected += 1
        self._fill(ev.buy_account, ev.sell_account, ev.instrument, ev.old_price, ev.old_qty, -1)
        self._fill(ev.buy_account, ev.sell_account, ev.instrument, ev.price, ev.qty, 1)
        src = f"trade:{ev.trade_id}"
        hist = self.marks.get(ev.instrument, [])
        if any(m.source == src for m in hist):
            self._unmark(ev.instrument, src)
            self._mark(ev.instrument, Mark(ev.trade_time, ev.price, src))

    @applies(LateTradeReported)
    def _late(self, ev: LateTradeReported) -> None:
        self.late += 1
        self._fill(ev.buy_account, ev.sell_account, ev.instrument, ev.price, ev.qty, 1)
        self._mark(ev.instrument, Mark(ev.trade_time, ev.price, f"late:{ev.report_id}"))

    @applies(PriceCorrected)
    def _price(self, ev: PriceCorrected) -> None:
        self._mark(ev.instrument, Mark(ev.at, ev.price, "correction"))

    # -- queries ---------------------------------------------------------------------------------
    def mark(self, instrument: str) -> Mark | None:
        hist = self.marks.get(instrument)
        return hist[-1] if hist else None

    # -- snapshots -------------------------------------------------------------------------------
    def snapshot_state(self) -> Any:
        return LedgerState(
            [self.instruments[k] for k in sorted(self.instruments)],
            [(a, i, q, c) for (a, i), (q, c) in sorted(self.positions.items())],
            sorted(self.marks.items()),
            self.trades,
            self.busted,
            self.corrected,
            self.late,
        )

    def restore_state(self, state: Any) -> None:
        s = msgspec.convert(state, LedgerState)
        self.__init__()  # type: ignore[misc]
        self.instruments = {i.id: i for i in s.instruments}
        self.positions = {(a, i): [q, c] for a, i, q, c in s.positions}
        self.marks = {k: list(v) for k, v in s.marks}
        self.trades, self.busted, self.corrected, self.late = s.trades, s.busted, s.corrected, s.late
