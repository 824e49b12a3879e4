"""Read models of accounts (CQRS query side): positions, balances, P&L, margin, open orders and
status per account. Folded from the log by the same ``Ledger`` code the risk engine decides with,
so a rebuild from the log answers exactly what the live engine saw. Queries answer from memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

import msgspec

from system.engine.orders import Side
from system.engine.refdata import price_to_decimal
from system.eventlog.codec import LoggedEvent
from system.risk.component import Risk
from system.risk.config import RiskConfig
from system.risk.events import FIRM, LimitBreached
from system.risk.ledger import Ledger
from system.risk.money import to_money
from system.risk.snapshot import LedgerState, ledger_state, restore_ledger
from system.runtime import Projection, Runtime

# What this read model folds itself even while it follows the risk component's ledger.
_OURS = frozenset({"KillSwitchEngaged", "KillSwitchReleased"})
_WATCHED = _OURS | {"LimitBreached"}


def _full_ledger(runtime: Runtime) -> Ledger | None:
    """``runtime``'s risk component if it folds the whole ledger (what this read model keeps)."""
    try:
        risk = runtime.component(Risk)
    except LookupError:
        return None
    ok = risk.track_fills and risk.track_im and risk.track_rate and not risk.lean
    return risk if ok else None


def _in_step(runtime: Runtime, position: int) -> bool:
    return not runtime.has_pending() and runtime.store.head().seq == position


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
        self._own = Ledger(config)
        self._killed: dict[str, str] = {}  # account (or FIRM) -> reason
        self._breaches: list[tuple[int, Any]] = []  # (seq, LimitBreached)
        self._fold = self._fold_table(self._own)
        # While following (see ``follow``): the runtime whose risk component holds the ledger.
        self._runtime: Runtime | None = None
        # While lagging (see ``follow``): the runtime whose log this read model catches up from
        # when asked, and the seq its own ledger is folded to (``position`` runs ahead of it).
        self._lagging: Runtime | None = None
        self._folded = 0
        self._catching_up = threading.Lock()  # a query on another thread (REST) catches up once

    def _fold_table(self, led: Ledger) -> dict[str, Callable[[Any], Any]]:
        return {
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
            "KillSwitchEngaged": lambda r: self._killed.__setitem__(r.account, r.reason),
            "KillSwitchReleased": lambda r: self._killed.pop(r.account, None),
        }

    # -- sharing the risk engine's ledger ----------------------------------------------------------
    def follow(self, runtime: Runtime) -> bool:
        """Answer from ``runtime``'s risk component instead of folding a second ledger.

        Only a risk component that keeps everything this read model keeps (fills, initial margin
        and rate windows: full risk) folds the same events with the same ``Ledger`` code into the
        same state, so only then is the second fold skipped; the kill-switch reasons and breaches
        stay ours. As ``MarketData`` does with the engine: a query made while the runtime holds
        unflushed commands (``batched()``) or is not at our position rebuilds a ledger of our own
        from the log up to ``position`` and stops following, so answers never run ahead of the
        log.

        When the risk component keeps less (pre-trade risk: ``Risk.lean`` keeps no positions,
        P&L or margin), nothing on the command path reads this ledger, so it lags instead: an
        append only moves ``position``, and the first query (or snapshot) after it folds the
        entries it has not folded yet, read back from the runtime's log, with the same fold as
        ``handle_batch``. The ledger's fold (two fills, fees, cash and margin per trade; an open
        order per acceptance) leaves the pre-trade command path for the reader who asks.
        Returns False (and keeps folding every append) unless the runtime is at our position.
        """
        if not _in_step(runtime, self.position):
            return False
        risk = _full_ledger(runtime)
        if risk is None:
            self._lagging = runtime
            self._folded = self.position
            return True
        self._runtime = runtime
        self._own = Ledger(self.config)  # drop the copy: the risk component holds the state now
        self._fold = self._fold_table(self._own)
        return True

    def _detach(self) -> None:
        rt = self._runtime
        if rt is None:
            return
        self._runtime = None
        own = Ledger(self.config)
        fold = self._fold_table(own)
        for name in _OURS:  # kill switches and breaches were folded all along
            fold.pop(name, None)
        for ev in rt.store.read(1, self.position):
            fn = fold.get(ev.type)
            if fn is not None:
                fn(ev.record)
        self._own, self._fold = own, self._fold_table(own)

    def _catch_up(self) -> None:
        """Lagging: fold what the log holds up to ``position`` that our ledger has not seen."""
        rt = self._lagging
        if rt is None or self._folded >= self.position:
            return
        with self._catching_up:
            to = self.position
            if self._folded < to:
                self._fold_entries(rt.store.read(self._folded + 1, to))
                self._folded = to

    @property
    def killed(self) -> dict[str, str]:
        """Account (or FIRM) -> the reason its kill switch is engaged."""
        self._catch_up()
        return self._killed

    @property
    def breaches(self) -> list[tuple[int, Any]]:
        """(seq, LimitBreached) of every breach, in log order."""
        self._catch_up()
        return self._breaches

    @property
    def ledger(self) -> Ledger:
        """The folded ledger the views read (the risk component's own while following)."""
        self._catch_up()
        rt = self._runtime
        if rt is not None:
            if _in_step(rt, self.position):
                led = _full_ledger(rt)
                if led is not None:
                    return led
            self._detach()
        return self._own

    # -- folding ---------------------------------------------------------------------------------
    def handle(self, ev: LoggedEvent) -> None:
        if ev.seq <= self.position:
            return
        if self._lagging is not None:
            self.position = ev.seq  # folded when asked (``_catch_up``)
            return
        t = ev.type
        if self._runtime is not None:
            # Following: the risk component has folded the ledger's events already.
            if t in _OURS:
                self._fold[t](ev.record)
            elif t == "LimitBreached":
                self._breaches.append((ev.seq, ev.record))
            self.position = ev.seq
            return
        fn = self._fold.get(t)
        if fn is not None:
            fn(ev.record)
        elif t == "LimitBreached":
            self._breaches.append((ev.seq, ev.record))
        self.position = ev.seq

    def _fold_entries(self, entries: Iterable[LoggedEvent]) -> None:
        """Fold entries in seq order into our own ledger (not following)."""
        get = self._fold.get
        breaches = self._breaches
        for ev in entries:
            fn = get(ev.type)
            if fn is not None:
                fn(ev.record)
            elif ev.type == "LimitBreached":
                breaches.append((ev.seq, ev.record))

    def handle_batch(self, batch: Sequence[LoggedEvent]) -> None:
        """One append's entries, all new (the runtime's case), in one loop: no ``handle`` call
        per entry. Following, only kill switches and breaches are ours to fold."""
        if not batch or batch[0].seq <= self.position:
            for ev in batch:
                self.handle(ev)
            return
        if self._lagging is not None:
            self.position = batch[-1].seq  # folded when asked (``_catch_up``)
            return
        if self._runtime is not None:
            fold = self._fold
            for ev in batch:
                t = ev.type
                if t in _WATCHED:
                    if t == "LimitBreached":
                        self._breaches.append((ev.seq, ev.record))
                    else:
                        fold[t](ev.record)
        else:
            self._fold_entries(batch)
        self.position = batch[-1].seq

    # -- snapshots (a warm start) ---------------------------------------------------------------
    def snapshot_state(self) -> Any:
        return {
            "ledger": ledger_state(self.ledger),  # the risk component's while following
            "killed": sorted(self.killed.items()),
            "breaches": [[seq, rec] for seq, rec in self.breaches],
        }

    def restore_state(self, state: Any) -> None:
        """Into this fresh projection (the runtime restores before it folds anything)."""
        restore_ledger(self._own, msgspec.convert(state["ledger"], LedgerState))
        self._killed = {str(a): str(r) for a, r in state["killed"]}
        self._breaches = [(int(seq), msgspec.convert(rec, LimitBreached)) for seq, rec in state["breaches"]]

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
                o.pos.instrument,
                o.cid,
                Side.BUY if o.sign > 0 else Side.SELL,
                o.price,
                o.leaves,
            )
            for oid, o in sorted(self.ledger.orders.items())
            if o.account.id == account
        ]

    def kill_switch(self, account: str) -> bool:
        """Whether new orders of ``account`` are blocked (its own switch or the firm's)."""
        return account in self.killed or FIRM in self.killed
