"""The risk engine: pre-trade checks in the command path before the matching engine, the
post-trade ledger, margin status events and the kill switch. See docs/risk.md.

Handlers run before the matching engine (the composition root puts this component first): a
breach emits ``OrderRejected`` (reason, limit name, value, text) and ``LimitBreached`` and stops
the chain; otherwise the order goes on to the engine. Appliers fold every order, trade, price and
FX event into the ledger. Reactions turn the ledger's new state into account status events on the
crossing of a level, and engage the kill switch when configured to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from system.corrections import LateTradeReported, TradeBusted, TradeCorrected
from system.engine import CancelAllOrders, MatchingEngine, ReplaceOrder, SubmitOrder
from system.engine.events import (
    FxRateSet,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderReduced,
    OrderRejected,
    OrderReplaced,
    TradeExecuted,
)
from system.engine.orders import RejectReason, Side
from system.pricing.events import MarkPriceSet
from system.risk.checks import Breach, Gate, Gates, check_replace, recent
from system.risk.config import RiskConfig
from system.risk.events import (
    FIRM,
    EngageKillSwitch,
    KillSwitchEngaged,
    KillSwitchReleased,
    LimitBreached,
    MarginCall,
    MarginRestored,
    MarginWarning,
    ReleaseKillSwitch,
    RiskCommandRejected,
)
from system.risk.ledger import Ledger
from system.risk.limits import LimitTable
from system.risk.snapshot import RiskState, restore_risk, risk_state
from system.risk.valuation import Account
from system.runtime import Component, Context, applies, handles, reacts

_BUY = Side.BUY


def margin_level(mm: int, equity: int, current: int, warning_bp: int, call_bp: int, rearm_bp: int) -> int:
    """0 normal, 1 warning, 2 call for maintenance margin ``mm`` against ``equity``. Going down,
    a level holds until utilisation is ``rearm_bp`` below its threshold."""
    if mm <= 0:
        return 0
    if equity <= 0:
        return 2
    u = mm * 10_000
    up = 2 if u >= equity * call_bp else 1 if u >= equity * warning_bp else 0
    if up >= current or not rearm_bp:
        return up
    if current == 2 and u >= equity * (call_bp - rearm_bp):
        return 2
    if u >= equity * (warning_bp - rearm_bp):
        return max(up, 1)
    return up


def utilisation_bp(a: Account) -> int | None:
    eq = a.equity
    return a.mm * 10_000 // eq if eq > 0 else None


def _needs(cfg: RiskConfig, attr: str) -> bool:
    scopes = [cfg.firm, cfg.default_account, *cfg.accounts.values()]
    return any(getattr(s, attr, None) is not None for s in scopes)


def _needs_position(cfg: RiskConfig) -> bool:
    scopes = [cfg.firm, cfg.default_account, *cfg.accounts.values()]
    return any(
        s.max_position is not None or any(o.max_position is not None for o in s.instruments.values())
        for s in scopes
    )


def margin_possible(cfg: RiskConfig) -> bool:
    """Whether any maintenance rate is positive: with none, maintenance margin is always zero, so
    no margin status event can ever be emitted."""
    return cfg.margin.maintenance_bp > 0 or any(r.maintenance_bp > 0 for r in cfg.instruments.values())


_MARGIN_REACTIONS = (TradeExecuted, MarkPriceSet, FxRateSet, TradeBusted, TradeCorrected, LateTradeReported)
# What the lean risk engine does not fold: the matching engine keeps every open order.
_ORDER_EVENTS = (OrderCancelled, OrderExpired, OrderReduced, OrderReplaced)


class Risk(Ledger, Component):
    """The ledger's appliers fold the state (``Ledger`` is a base: its ``@applies`` methods are
    this component's); the handlers and reactions below decide on it."""

    name = "risk"
    # Fold positions and P&L even when no limit or event needs them (tests compare both ways).
    keep_all = False

    def __init__(self, config: RiskConfig) -> None:
        # Keep initial margin and rate windows only if a limit decides on them (the read model
        # keeps them regardless).
        # Positions, P&L and margin only if a limit or a status event decides on them: buying
        # power (credit), position limits, or a maintenance rate that can raise a margin level.
        self.margin_events = margin_possible(config)
        super().__init__(
            config,
            track_im=_needs(config, "credit"),
            track_rate=_needs(config, "max_orders_per_second"),
            track_fills=self.keep_all
            or self.margin_events
            or _needs(config, "credit")
            or _needs_position(config),
        )
        self.config = config
        self.ledger = self
        self.limits = LimitTable(config)
        self.gates = Gates(self.ledger, self.limits)
        self._gate_table = self.gates.gates
        self._by_reference = config.collar_reference == "reference"
        self.killed: set[str] = set()  # accounts (and FIRM) with the kill switch engaged
        # Lean (no fills kept, so no limit reads open exposure): open orders and their counts
        # come from the matching engine's own state, read through ctx.component on first use.
        # A reference to a sibling component, not state: it does not depend on any event.
        self.lean = not self.track_fills
        self._book: MatchingEngine | None = None

    def appliers(self) -> dict[type, list[Callable[..., Any]]]:
        """Without fills kept, a trade goes straight to the lean fold (one call per trade)."""
        table = super().appliers()
        if self.lean:  # open orders are the matching engine's: fold only prices and rate windows
            table[TradeExecuted] = [self._trade_price]
            if self.track_rate:
                table[OrderAccepted] = [self._accepted_rate]
            else:
                table.pop(OrderAccepted, None)
            for t in _ORDER_EVENTS:
                table.pop(t, None)
        return table

    def _engine(self, ctx: Context) -> MatchingEngine:
        eng = self._book
        if eng is None:
            eng = self._book = ctx.component(MatchingEngine)
        return eng

    def open_orders(self, account: str) -> int:
        if self._book is None:
            return super().open_orders(account)
        return self._book.open_count.get(account, 0)

    def firm_open_orders(self) -> int:
        if self._book is None:
            return super().firm_open_orders()
        return len(self._book.orders)

    def reactors(self) -> dict[type, list[Callable[..., Any]]]:
        """Without a positive maintenance rate no margin level can change: the margin reactions
        (one call per trade) are not registered at all."""
        table = super().reactors()
        if not self.margin_events:
            for t in _MARGIN_REACTIONS:
                table.pop(t, None)
        return table

    # -- snapshots -------------------------------------------------------------------------------
    def snapshot_state(self) -> RiskState:
        return risk_state(self)

    def restore_state(self, state: Any) -> None:
        restore_risk(self, state)

    # -- pre-trade -------------------------------------------------------------------------------
    def _blocked(self, account: str) -> bool:
        k = self.killed
        return bool(k) and (FIRM in k or account in k)

    @handles(SubmitOrder)
    def _submit(self, cmd: SubmitOrder, ctx: Context) -> bool:
        # The fast path over the (account, instrument) gate (checks.Gate), inlined: this runs
        # once per order. Any compare that fails asks checks.check_order for the exact answer.
        account = cmd.account
        if self.killed and self._blocked(account):
            return self._kill_reject(ctx, "SubmitOrder", cmd.instrument, account, cmd.client_order_id, None)
        iid = cmd.instrument
        per = self._gate_table.get(account)
        g = None if per is None else per.get(iid)
        if g is None or g.ver != self.version:
            g = self.gates.gate(account, iid)
            if g is None:
                return False  # the engine rejects an unknown instrument
        qty = cmd.qty
        price = cmd.price
        if qty > g.max_qty:
            return self._exact(g, cmd, ctx)
        if price is not None:
            if g.has_collar:
                ref = self.px.get(iid)
                if self._by_reference:
                    ref = self.reference.get(iid, ref)
                if ref is not None:
                    if ref != g.ref:
                        g.set_band(ref)
                    if price < g.lo or price > g.hi:
                        return self._exact(g, cmd, ctx)
            if price * qty > g.cap:
                return self._exact(g, cmd, ctx)
        elif g.has_notional:
            v = self.px.get(iid)
            if v is None or v * qty > g.cap:
                return self._exact(g, cmd, ctx)
        a = g.account
        if a is None:
            a = g.account = self.accounts.get(account)
        if self.lean:
            eng = self._book
            if eng is None:
                eng = self._engine(ctx)
            # The four counters (open orders and order rate, account and firm) each grow by at
            # most one per accepted order, and the engine's order id counts acceptances: until
            # it reaches ``g.until`` none of them can have reached its limit (``_counters``).
            if eng.next_order_id >= g.until and self._counters(g, a, eng, account, ctx.now):
                return self._exact(g, cmd, ctx)
        else:
            if self.firm_open >= g.firm_open or (a is not None and a.n_open >= g.max_open):
                return self._exact(g, cmd, ctx)
            if a is not None:  # a first order has no rate history yet
                m = g.max_rate
                if len(a.times) >= m and recent(a.times, ctx.now) >= m:
                    return self._exact(g, cmd, ctx)
            m = g.firm_rate
            if len(self.firm_times) >= m and recent(self.firm_times, ctx.now) >= m:
                return self._exact(g, cmd, ctx)
        if g.positional:
            b = self.gates.positional(g, a, account, cmd.side is _BUY, qty, price, ctx.now)
            if b is not None:
                self._reject(cmd, ctx, b)
                return True
        return False

    def _counters(self, g: Gate, a: Account | None, eng: MatchingEngine, account: str, now: int) -> bool:
        """Lean: whether an open-order or order-rate counter may stop this order (the caller
        then asks ``check_order``). Otherwise sets ``g.until`` to the engine's order id after
        which one might: each counter grows by at most one per acceptance (open counts on
        ``OrderAccepted``, rate windows by one time each; both only shrink otherwise), so with
        headroom ``s`` (the least of limit - count) the next ``s - 1`` acceptances cannot reach
        a limit. A window's length bounds its count in the window at any later time."""
        n = eng.open_count.get(account, 0)
        f = len(eng.orders)
        if n >= g.max_open or f >= g.firm_open:
            return True
        s = min(g.max_open - n, g.firm_open - f)
        m = g.max_rate
        if a is not None:  # a first order has no rate history yet (no check, as in check_order)
            n = len(a.times)
            if n >= m:
                if recent(a.times, now) >= m:
                    return True
                s = 0  # under the limit only because some times have left the window: ask again
            elif m - n < s:
                s = m - n
        elif m < s:
            s = m
        m = g.firm_rate
        n = len(self.firm_times)
        if n >= m:
            if recent(self.firm_times, now) >= m:
                return True
            s = 0
        elif m - n < s:
            s = m - n
        g.until = eng.next_order_id + s
        return False

    def _exact(self, g: Gate, cmd: SubmitOrder, ctx: Context) -> bool:
        b = self.gates.exact(g, cmd.account, cmd.side is _BUY, cmd.qty, cmd.price, ctx.now)
        if b is None:
            return False
        self._reject(cmd, ctx, b)
        return True

    def _reject(self, cmd: SubmitOrder, ctx: Context, b: Breach) -> None:
        ctx.emit(
            OrderRejected(
                "SubmitOrder", cmd.instrument, cmd.account, cmd.client_order_id, b.reason, b.text,
                b.limit, b.value,
            )
        )  # fmt: skip
        ctx.emit(LimitBreached(cmd.account, b.scope, b.limit, cmd.instrument, b.limit_value, b.value, b.text))

    @handles(ReplaceOrder)
    def _replace(self, cmd: ReplaceOrder, ctx: Context) -> bool:
        account = cmd.account
        if self.killed and self._blocked(account):
            return self._kill_reject(ctx, "ReplaceOrder", cmd.instrument, account, "", cmd.order_id)
        info = self.ledger.insts.get(cmd.instrument)
        if self.lean:
            eo = self._engine(ctx).orders.get(cmd.order_id)
            if eo is None or info is None or eo.account != account:
                return False  # the engine answers for unknown orders
            cid = eo.cid
        else:
            o = self.ledger.orders.get(cmd.order_id)
            if o is None or info is None or o.account.id != account:
                return False
            cid = o.cid
        b = check_replace(self.ledger, self.limits, account, info.inst, cmd.qty, cmd.price)
        if b is None:
            return False
        ctx.emit(
            OrderRejected(
                "ReplaceOrder", cmd.instrument, account, cid, b.reason, b.text, b.limit,
                b.value, cmd.order_id,
            )
        )  # fmt: skip
        ctx.emit(LimitBreached(account, b.scope, b.limit, cmd.instrument, b.limit_value, b.value, b.text))
        return True

    def _kill_reject(
        self, ctx: Context, command: str, instrument: str, account: str, cid: str, order_id: int | None
    ) -> bool:
        who = "the firm" if FIRM in self.killed else f"account {account}"
        ctx.emit(
            OrderRejected(
                command, instrument, account, cid, RejectReason.RISK_KILL_SWITCH,
                f"kill switch engaged for {who}: no new orders", "kill_switch",
                FIRM if FIRM in self.killed else account, order_id,
            )
        )  # fmt: skip
        return True

    # -- kill switch -----------------------------------------------------------------------------
    @handles(EngageKillSwitch)
    def _engage(self, cmd: EngageKillSwitch, ctx: Context) -> bool:
        if cmd.account in self.killed:
            ctx.emit(
                RiskCommandRejected(
                    "EngageKillSwitch", cmd.account, f"kill switch already engaged for {cmd.account}"
                )
            )
        else:
            ctx.emit(KillSwitchEngaged(cmd.account, cmd.reason or "manual", True))
        return True

    @handles(ReleaseKillSwitch)
    def _release(self, cmd: ReleaseKillSwitch, ctx: Context) -> bool:
        if cmd.account not in self.killed:
            ctx.emit(
                RiskCommandRejected(
                    "ReleaseKillSwitch", cmd.account, f"kill switch not engaged for {cmd.account}"
                )
            )
        else:
            ctx.emit(KillSwitchReleased(cmd.account, cmd.reason or "manual"))
        return True

    @reacts(KillSwitchEngaged)
    def _cancel_all(self, ev: KillSwitchEngaged, ctx: Context) -> None:
        if self.lean:
            counts = self._engine(ctx).open_count
            if ev.account == FIRM:
                targets = sorted(a for a, n in counts.items() if n)
            else:
                targets = [ev.account] if counts.get(ev.account) else []
        elif ev.account == FIRM:
            targets = sorted(a.id for a in self.ledger.accounts.values() if a.n_open)
        else:
            a = self.ledger.accounts.get(ev.account)
            targets = [ev.account] if a is not None and a.n_open else []
        for acct in targets:
            ctx.execute(CancelAllOrders(acct))

    def _auto_kill(self, account: str, trigger: str, ctx: Context) -> None:
        if account in self.killed:
            return
        kill_on = self.limits.firm_kill_on() if account == FIRM else self.limits.account_kill_on(account)
        if trigger in kill_on:
            ctx.emit(KillSwitchEngaged(account, f"automatic: {trigger}", False))

    @reacts(LimitBreached)
    def _on_breach(self, ev: LimitBreached, ctx: Context) -> None:
        self._auto_kill(FIRM if ev.scope == "firm" else ev.account, ev.limit, ctx)

    @reacts(MarginCall)
    def _on_call(self, ev: MarginCall, ctx: Context) -> None:
        self._auto_kill(ev.account, "margin_call", ctx)

    # -- margin status ---------------------------------------------------------------------------
    def _evaluate(self, account: str, ctx: Context) -> None:
        a = self.ledger.accounts.get(account)
        if a is None:
            return
        cfg = self.config
        cur = a.level
        lvl = margin_level(a.mm, a.equity, cur, cfg.warning_bp, cfg.call_bp, cfg.rearm_bp)
        if lvl == cur:
            return
        args = (a.id, a.currency, utilisation_bp(a), a.mm, a.equity)
        if lvl > cur:
            if cur < 1:
                ctx.emit(MarginWarning(*args))
            if lvl == 2:
                ctx.emit(MarginCall(*args))
        else:
            ctx.emit(MarginRestored(a.id, a.currency, lvl, args[2], a.mm, a.equity))

    def _evaluate_instrument(self, instrument: str, ctx: Context) -> None:
        holders = self.ledger.holders.get(instrument)
        if not holders:
            return
        for account, p in list(holders.items()):
            a = p.account
            if a.mm <= 0 and a.level == 0:
                continue  # no margin in use and no level to restore: nothing can be emitted
            self._evaluate(account, ctx)

    @reacts(TradeExecuted)
    def _after_trade(self, ev: TradeExecuted, ctx: Context) -> None:
        if ev.instrument in self.marked:
            self._evaluate(ev.buy_account, ctx)
            if ev.sell_account != ev.buy_account:
                self._evaluate(ev.sell_account, ctx)
        else:  # the trade moved the valuation price: every holder's margin may have moved
            self._evaluate_instrument(ev.instrument, ctx)
            if ev.cross_instrument is not None:
                self._evaluate_instrument(ev.cross_instrument, ctx)

    @reacts(MarkPriceSet)
    def _after_mark(self, ev: MarkPriceSet, ctx: Context) -> None:
        self._evaluate_instrument(ev.instrument, ctx)

    @reacts(FxRateSet)
    def _after_fx(self, ev: FxRateSet, ctx: Context) -> None:
        for account in sorted(self.ledger.accounts):
            self._evaluate(account, ctx)

    @reacts(TradeBusted, TradeCorrected, LateTradeReported)
    def _after_correction(self, ev: TradeBusted | TradeCorrected | LateTradeReported, ctx: Context) -> None:
        self._evaluate(ev.buy_account, ctx)
        if ev.sell_account != ev.buy_account:
            self._evaluate(ev.sell_account, ctx)

    # -- fold: the ledger's appliers (inherited) plus the kill switch -------------------------
    @applies(KillSwitchEngaged)
    def _killed(self, ev: KillSwitchEngaged) -> None:
        self.killed.add(ev.account)

    @applies(KillSwitchReleased)
    def _unkilled(self, ev: KillSwitchReleased) -> None:
        self.killed.discard(ev.account)
