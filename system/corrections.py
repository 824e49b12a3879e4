"""Corrections: busts, trade corrections, late trade reports and price corrections.

Bitemporal model (docs/replay.md): a correction is logged when it is made (its recorded_time is
the clock's now) but carries the valid time it amends (the original trade's time, the late trade's
time, the price's instant). So "as of valid time T" folds the corrected history, while "as known at
recorded time R" leaves out corrections recorded after R.
"""

from __future__ import annotations

from system.bootstrap import PLUGINS, SystemConfig
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


class _Trade:
    __slots__ = ("buy_account", "busted", "instrument", "price", "qty", "sell_account", "time")

    def __init__(self, instrument: str, price: int, qty: int, buy: str, sell: str, time: int) -> None:
        self.instrument = instrument
        self.price = price
        self.qty = qty
        self.buy_account = buy
        self.sell_account = sell
        self.time = time
        self.busted = False


class Corrections(Component):
    """Validates corrections against the trades it has folded, and emits them at the amended time."""

    name = "corrections"

    def __init__(self) -> None:
        self.trades: dict[int, _Trade] = {}
        self.late_reports = 0

    # -- commands --------------------------------------------------------------------------------
    def _known(self, cmd_name: str, trade_id: int, ctx: Context) -> _Trade | None:
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
            ctx.emit(CorrectionRejected("CorrectTrade", cmd.trade_id, f"price {price} and qty {qty} must be positive"))
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
            ctx.emit(CorrectionRejected("ReportLateTrade", None, f"price {cmd.price} and qty {cmd.qty} must be positive"))
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
            ctx.emit(CorrectionRejected("CorrectPrice", None, f"price {cmd.price} at {cmd.at} is not a valid correction"))
            return True
        ctx.emit(PriceCorrected(cmd.instrument, cmd.price, cmd.at, cmd.reason), valid_time=cmd.at)
        return True

    # -- fold ------------------------------------------------------------------------------------
    @applies(TradeExecuted)
    def _trade(self, ev: TradeExecuted) -> None:
        self.trades[ev.trade_id] = _Trade(
            ev.instrument, ev.price, ev.qty, ev.buy_account, ev.sell_account, ev.time
        )

    @applies(TradeBusted)
    def _busted(self, ev: TradeBusted) -> None:
        t = self.trades.get(ev.trade_id)
        if t is not None:
            t.busted = True

    @applies(TradeCorrected)
    def _corrected(self, ev: TradeCorrected) -> None:
        t = self.trades.get(ev.trade_id)
        if t is not None:
            t.price = ev.price
            t.qty = ev.qty

    @applies(LateTradeReported)
    def _late(self, ev: LateTradeReported) -> None:
        self.late_reports = max(self.late_reports, ev.report_id)


def _factory(config: SystemConfig) -> list[Component]:
    return [Corrections()]


PLUGINS.after_engine.append(_factory)
