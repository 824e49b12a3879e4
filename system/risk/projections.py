"""Read models of accounts (CQRS query side): positions, balances, P&L, margin, open orders and
status per account. Folded from the log by the same ``Ledger`` code the risk engine decides with,
so a rebuild from the log answers exactly what the live engine saw. Queries answer from memory.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec

from system.engine.orders import Side
from system.engine.refdata import price_to_decimal
from system.eventlog.codec import LoggedEvent
from system.risk.config import RiskConfig
from system.risk.events import FIRM
from system.risk.ledger import O_ACCOUNT, O_CID, O_LEAVES, O_POS, O_PRICE, O_SIGN, Ledger
from system.risk.money import to_money
from system.runtime import Projection


class PositionView(msgspec.Struct, frozen=True):
    account: str
    instrument: str
    qty: int
    avg_price: Decimal | None  # average cost of the open position, in price terms
    cost: int  # raw units (int price x int qty), signed like qty
    currency: str  # the instrument's quote currency: the unit of the money fields below
    realised: int
    unrealised: int
    fees: int


class PnlView(msgspec.Struct, frozen=True):
    account: str
    currency: str
    realised: int
    unrealised: int
    fees: int

    @property
    def net(self) -> int:
        return self.realised + self.unrealised - self.fees


class MarginView(msgspec.Struct, frozen=True):
    account: str
    currency: str
    cash: int  # cash of every currency valued in the account's currency
    unrealised: int
    equity: int
    initial_margin: int
    maintenance_margin: int
    available: int  # equity - initial margin (+ credit, when configured)
    utilisation_bp: int | None  # maintenance / equity; None when equity <= 0
    level: int  # 0 normal, 1 warning, 2 call


class OpenOrderView(msgspec.Struct, frozen=True):
    order_id: int
    account: str
    instrument: str
    client_order_id: str
    side: Side
    price: int | None
    leaves: int


class AccountsProjection(Projection):
    name = "accounts"

    def __init__(self, config: RiskConfig) -> None:
        super().__init__()
        self.config = config
        self.ledger = Ledger(config)
        self.killed: dict[str, str] = {}  # account (or FIRM) -> reason
        self.breaches: list[tuple[int, Any]] = []  # (seq, LimitBreached)
        led = self.ledger
        table: dict[str, Callable[[Any], Any]] = {
            "InstrumentListed": led.on_listed,
            "ReferencePriceSet": led.on_reference,
            "MarkPriceSet": led.on_mark,
            "FxRateSet": led.on_fx,
            "OrderAccepted": led.on_accepted,
            "OrderCancelled": led.on_closed,
            "OrderExpired": led.on_closed,
            "OrderReduced": led.on_reduced,
            "OrderReplaced": led.on_replaced,
            "TradeExecuted": led.on_trade,
            "TradeBusted": led.on_busted,
            "TradeCorrected": led.on_corrected,
            "LateTradeReported": led.on_late,
            "MarginWarning": led.on_warning,
            "MarginCall": led.on_call,
            "MarginRestored": led.on_restored,
            "KillSwitchEngaged": lambda r: self.killed.__setitem__(r.account, r.reason),
            "KillSwitchReleased": lambda r: self.killed.pop(r.account, None),
        }
        self._fold = table

    def handle(self, ev: LoggedEvent) -> None:
        if ev.seq <= self.position:
            return
        fn = self._fold.get(ev.type)
        if fn is not None:
            fn(ev.record)
        elif ev.type == "LimitBreached":
            self.breaches.append((ev.seq, ev.record))
        self.position = ev.seq

    # -- queries ---------------------------------------------------------------------------------
    def accounts(self) -> list[str]:
        return sorted(self.ledger.accounts)

    def positions(self, account: str) -> list[PositionView]:
        a = self.ledger.accounts.get(account)
        if a is None:
            return []
        out = []
        for inst_id, p in sorted(a.positions.items()):
            info = self.ledger.insts.get(inst_id)
            if info is None or (p.qty == 0 and not p.fills and not p.packed):
                continue
            avg = None
            if p.qty:
                avg = price_to_decimal(info.inst, 1) * Decimal(p.cost) / Decimal(p.qty)
            px = self.ledger.px.get(inst_id)
            unreal = 0 if px is None else (px * p.qty - p.cost) * info.n // info.d
            out.append(
                PositionView(account, inst_id, p.qty, avg, p.cost, info.quote, p.booked, unreal, p.fees)
            )
        return out

    def position_qty(self, account: str, instrument: str) -> int:
        a = self.ledger.accounts.get(account)
        p = None if a is None else a.positions.get(instrument)
        return 0 if p is None else p.qty

    def balances(self, account: str) -> dict[str, int]:
        a = self.ledger.accounts.get(account)
        return {} if a is None else dict(sorted(a.cash.items()))

    def pnl(self, account: str) -> list[PnlView]:
        """Realised, unrealised and fees per currency (the quote currencies it traded in)."""
        by: dict[str, list[int]] = {}
        for p in self.positions(account):
            t = by.setdefault(p.currency, [0, 0, 0])
            t[0] += p.realised
            t[1] += p.unrealised
            t[2] += p.fees
        return [PnlView(account, c, *v) for c, v in sorted(by.items())]

    def margin(self, account: str) -> MarginView | None:
        a = self.ledger.accounts.get(account)
        if a is None:
            return None
        credit = a.cfg.credit
        extra = 0
        if credit is not None:
            extra = to_money(Decimal(credit), a.currency, self.config.currencies)
        eq = a.equity
        return MarginView(
            account, a.currency, a.cash_total, a.upnl, eq, a.im, a.mm, eq - a.im + extra,
            a.mm * 10_000 // eq if eq > 0 else None, a.level,
        )  # fmt: skip

    def open_orders(self, account: str) -> list[OpenOrderView]:
        return [
            OpenOrderView(
                oid,
                account,
                o[O_POS].instrument,
                o[O_CID],
                Side.BUY if o[O_SIGN] > 0 else Side.SELL,
                o[O_PRICE],
                o[O_LEAVES],
            )
            for oid, o in sorted(self.ledger.orders.items())
            if o[O_ACCOUNT].id == account
        ]

    def kill_switch(self, account: str) -> bool:
        """Whether new orders of ``account`` are blocked (its own switch or the firm's)."""
        return account in self.killed or FIRM in self.killed
