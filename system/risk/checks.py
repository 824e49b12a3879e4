"""Pre-trade checks: a pure decision over the ledger and the resolved limits.

Order of checks (the first failure is reported): quantity, price collar, notional, open orders,
order rate, position, buying power; each at account scope, then firm scope. The hot path is
dict lookups and int compares: no Decimal unless a check fails and its text must be written.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import NamedTuple

from system.engine.orders import RejectReason
from system.engine.refdata import Instrument, price_to_decimal, qty_to_decimal
from system.risk.ledger import RATE_WINDOW_NS, Ledger
from system.risk.limits import LimitTable, Resolved
from system.risk.money import fmt_decimal, fmt_money, to_money
from system.risk.valuation import Account, Position

R = RejectReason


class Breach(NamedTuple):
    reason: RejectReason
    scope: str  # "account" or "firm"
    limit: str  # the limit's name (system.risk.config.LIMIT_NAMES)
    limit_value: str
    value: str
    text: str


def recent(times: deque[int], now: int) -> int:
    """How many of ``times`` fall in the rate window ending at ``now``."""
    cutoff = now - RATE_WINDOW_NS
    stale = 0
    for t in times:
        if t > cutoff:
            break
        stale += 1
    return len(times) - stale


def _prefix(scope: str) -> str:
    return "firm " if scope == "firm" else ""


def _qty_breach(scope: str, limit: str, what: str, inst: Instrument, lim: int, value: int) -> Breach:
    lv, v = fmt_decimal(qty_to_decimal(inst, lim)), fmt_decimal(qty_to_decimal(inst, value))
    reason = R.RISK_MAX_ORDER_QTY if limit == "max_order_qty" else R.RISK_POSITION_LIMIT
    return Breach(reason, scope, limit, lv, v, f"{_prefix(scope)}{what} {lv} exceeded: {v}")


def _collar(scope: str, inst: Instrument, lim: Resolved, price: int, ref: int) -> Breach | None:
    widths = []
    if lim.collar_bp is not None:
        widths.append(ref * lim.collar_bp // 10_000)
    if lim.collar_ticks is not None:
        widths.append(lim.collar_ticks * inst.tick_at(ref))
    w = min(widths)
    if ref - w <= price <= ref + w:
        return None
    p = fmt_decimal(price_to_decimal(inst, price))
    lo = fmt_decimal(price_to_decimal(inst, max(ref - w, 0)))
    hi = fmt_decimal(price_to_decimal(inst, ref + w))
    r = fmt_decimal(price_to_decimal(inst, ref))
    return Breach(
        R.RISK_PRICE_COLLAR, scope, "price_collar", f"{lo}..{hi}", p,
        f"{_prefix(scope)}price collar {lo}..{hi} around reference {r} exceeded: {p}",
    )  # fmt: skip


def _money_breach(
    scope: str, limit: str, what: str, lim: int, value: int, ccy: str, units: dict[str, str]
) -> Breach:
    lv, v = fmt_money(lim, ccy, units), fmt_money(value, ccy, units)
    reason = R.RISK_MAX_NOTIONAL if limit == "max_notional" else R.RISK_BUYING_POWER
    return Breach(reason, scope, limit, lv, v, f"{_prefix(scope)}{what} {lv} {ccy} exceeded: {v}")


def _count_breach(scope: str, limit: str, what: str, lim: int, value: int) -> Breach:
    reason = R.RISK_MAX_OPEN_ORDERS if limit == "max_open_orders" else R.RISK_MAX_ORDER_RATE
    return Breach(
        reason, scope, limit, str(lim), str(value), f"{_prefix(scope)}{what} {lim:,} exceeded: {value:,}"
    )


def _no_price(scope: str, limit: str, inst: Instrument) -> Breach:
    return Breach(
        R.RISK_NO_PRICE, scope, limit, "", "",
        f"no mark, last trade or reference price to value a market order in {inst.id} for {limit}",
    )  # fmt: skip


def _no_fx(scope: str, limit: str, inst: Instrument, ccy: str) -> Breach:
    return Breach(
        R.RISK_NO_FX_RATE, scope, limit, "", "",
        f"no FX rate from {inst.quote_currency} to {ccy} to check {limit} on {inst.id}",
    )  # fmt: skip


def check_order(
    ledger: Ledger,
    table: LimitTable,
    account: str,
    inst: Instrument,
    is_buy: bool,
    qty: int,
    price: int | None,
    now: int,
) -> Breach | None:
    """The first limit a new order would breach, or None."""
    iid = inst.id
    lim = table.account(account, inst)
    firm = table.firm(inst)
    # quantity
    for scope, r in (("account", lim), ("firm", firm)):
        m = r.max_qty
        if m is not None and qty > m:
            return _qty_breach(scope, "max_order_qty", "max order qty", inst, m, qty)
    # price collar
    if price is not None:
        for scope, r in (("account", lim), ("firm", firm)):
            if r.collar_bp is not None or r.collar_ticks is not None:
                if table.cfg.collar_reference == "reference":
                    ref = ledger.reference.get(iid, ledger.px.get(iid))
                else:
                    ref = ledger.px.get(iid)
                if ref is not None:
                    b = _collar(scope, inst, r, price, ref)
                    if b is not None:
                        return b
    # notional
    value_px = price if price is not None else ledger.px.get(iid)
    units = table.cfg.currencies
    for scope, r in (("account", lim), ("firm", firm)):
        m = r.max_notional
        if m is not None:
            if value_px is None:
                return _no_price(scope, "max_notional", inst)
            f = ledger.factor(r.currency, iid)
            if f is None:
                return _no_fx(scope, "max_notional", inst, r.currency)
            notional = value_px * qty * f[0] // f[1]
            if notional > m:
                return _money_breach(scope, "max_notional", "max notional", m, notional, r.currency, units)
    a = ledger.accounts.get(account)
    # open orders
    m = lim.max_open
    if m is not None:
        n = ledger.open_orders(account)
        if n >= m:
            return _count_breach("account", "max_open_orders", "max open orders", m, n + 1)
    m = firm.max_open
    if m is not None:
        n = ledger.firm_open_orders()
        if n >= m:
            return _count_breach("firm", "max_open_orders", "max open orders", m, n + 1)
    # order rate
    m = lim.max_rate
    if m is not None:
        n = recent(a.times, now) if a is not None else 0
        if n >= m:
            return _count_breach("account", "max_orders_per_second", "max orders per second", m, n + 1)
    m = firm.max_rate
    if m is not None:
        n = recent(ledger.firm_times, now)
        if n >= m:
            return _count_breach("firm", "max_orders_per_second", "max orders per second", m, n + 1)
    # position (worst case: the position plus every open order on the same side, plus this one)
    p = a.positions.get(iid) if a is not None else None
    m = lim.max_pos
    if m is not None:
        worst = qty
        if p is not None:
            worst = p.qty + p.open_buy + qty if is_buy else -(p.qty - p.open_sell - qty)
        if worst > m:
            return _qty_breach("account", "max_position", "max position", inst, m, worst)
    m = firm.max_pos
    if m is not None:
        fp = ledger.firm_pos.get(iid)
        if fp is not None:
            worst = fp[0] + fp[1] + qty if is_buy else -(fp[0] - fp[2] - qty)
            if worst > m:
                return _qty_breach("firm", "max_position", "max position", inst, m, worst)
    # buying power: equity + credit must cover initial margin including this order
    credit = lim.credit
    if credit is not None:
        return _buying_power(ledger, table, account, inst, lim, p, is_buy, qty, value_px)
    return None


def _buying_power(
    ledger: Ledger,
    table: LimitTable,
    account: str,
    inst: Instrument,
    lim: Resolved,
    p: Position | None,
    is_buy: bool,
    qty: int,
    value_px: int | None,
) -> Breach | None:
    iid = inst.id
    ccy = lim.currency
    if value_px is None:
        return _no_price("account", "buying_power", inst)
    f = ledger.factor(ccy, iid)
    if f is None:
        return _no_fx("account", "buying_power", inst, ccy)
    q, ob, os_ = (p.qty, p.open_buy, p.open_sell) if p is not None else (0, 0, 0)
    before = max(abs(q + ob), abs(q - os_))
    after = max(abs(q + ob + qty), abs(q - os_)) if is_buy else max(abs(q + ob), abs(q - os_ - qty))
    info = ledger.insts[iid]
    px = max(value_px, ledger.px.get(iid, value_px))
    need = (after - before) * px * f[0] * info.im_bp // (f[1] * 10_000)
    if need <= 0:
        return None  # the order reduces (or keeps) the worst-case exposure
    a = ledger.accounts.get(account)
    if a is not None:
        available = a.equity - a.im
    else:  # an account's first order: its opening balances, nothing used yet
        available = 0
        for c, amount in sorted(table.cfg.account(account).balances.items()):
            conv = ledger.conv(c, ccy)
            if conv is not None:
                available += to_money(Decimal(amount), c, table.cfg.currencies) * conv[0] // conv[1]
    assert lim.credit is not None
    available += lim.credit
    if need > available:
        units = table.cfg.currencies
        return _money_breach("account", "buying_power", "buying power", max(available, 0), need, ccy, units)
    return None


def check_replace(
    ledger: Ledger, table: LimitTable, account: str, inst: Instrument, qty: int | None, price: int | None
) -> Breach | None:
    """A replace's new total quantity against max order qty, its new price against the collar."""
    lim = table.account(account, inst)
    firm = table.firm(inst)
    for scope, r in (("account", lim), ("firm", firm)):
        if qty is not None and r.max_qty is not None and qty > r.max_qty:
            return _qty_breach(scope, "max_order_qty", "max order qty", inst, r.max_qty, qty)
    if price is not None:
        ref = ledger.px.get(inst.id)
        if table.cfg.collar_reference == "reference":
            ref = ledger.reference.get(inst.id, ref)
        if ref is not None:
            for scope, r in (("account", lim), ("firm", firm)):
                if r.collar_bp is not None or r.collar_ticks is not None:
                    b = _collar(scope, inst, r, price, ref)
                    if b is not None:
                        return b
    return None


NONE = 1 << 200  # "no limit": beyond any count, quantity or price x qty (msgpack ints are 64-bit)


class Gate:
    """The limits of one (account, instrument) merged into the few ints the fast path compares:
    the tighter of account and firm quantity limits, the intersection of their collars at the
    current reference, the notional limits turned into a cap on price x qty, and the counter
    limits (``NONE`` where a limit is not set, so each check is one compare). Any compare that
    fails sends the order to ``check_order``, which finds the exact limit and scope (or passes
    it), so the fast path decides nothing by itself."""

    __slots__ = (
        "account", "bps", "cap", "credit", "firm", "firm_open", "firm_pos", "firm_rate", "has_collar",
        "has_notional", "hi", "iid", "inst", "lim", "lo", "max_open", "max_pos", "max_qty", "max_rate",
        "min_ticks", "positional", "ref", "until", "ver",
    )  # fmt: skip

    def __init__(self, lim: Resolved, firm: Resolved, inst: Instrument) -> None:
        self.lim = lim
        self.firm = firm
        self.inst = inst
        self.iid = inst.id
        self.account: Account | None = None  # the ledger's account, once it exists
        qs = [m for m in (lim.max_qty, firm.max_qty) if m is not None]
        self.max_qty = min(qs) if qs else NONE
        self.has_collar = any(
            x is not None for x in (lim.collar_bp, lim.collar_ticks, firm.collar_bp, firm.collar_ticks)
        )
        bps = [x for x in (lim.collar_bp, firm.collar_bp) if x is not None]
        ticks = [x for x in (lim.collar_ticks, firm.collar_ticks) if x is not None]
        self.bps = tuple(bps)
        self.min_ticks = min(ticks) if ticks else None
        self.ref: int | None = None
        self.lo = 0
        self.hi = 0
        # Lean risk: the engine's next order id from which the counter limits must be compared
        # again (Risk._counters); 0 compares them on the first order.
        self.until = 0
        self.max_open = NONE if lim.max_open is None else lim.max_open
        self.firm_open = NONE if firm.max_open is None else firm.max_open
        self.max_rate = NONE if lim.max_rate is None else lim.max_rate
        self.firm_rate = NONE if firm.max_rate is None else firm.max_rate
        self.max_pos = lim.max_pos
        self.firm_pos = firm.max_pos
        self.credit = lim.credit
        # position limits or buying power: the checks that read the position
        self.positional = lim.max_pos is not None or firm.max_pos is not None or lim.credit is not None
        self.has_notional = lim.max_notional is not None or firm.max_notional is not None
        self.ver = -1
        self.cap = NONE

    def refresh(self, ledger: Ledger) -> None:
        """Notional limits as a cap on price x qty: floor(pq * n / d) > m  <=>  pq > cap."""
        caps = []
        for r in (self.lim, self.firm):
            if r.max_notional is not None:
                f = ledger.factor(r.currency, self.iid)
                caps.append(-1 if f is None else ((r.max_notional + 1) * f[1] + f[0] - 1) // f[0] - 1)
        self.cap = min(caps) if caps else NONE
        self.ver = ledger.version

    def set_band(self, ref: int) -> None:
        """The intersection of both scopes' collars: ref +- the narrowest configured width."""
        widths = [ref * bp // 10_000 for bp in self.bps]
        if self.min_ticks is not None:  # tick sizes are positive: the fewest ticks is narrowest
            widths.append(self.min_ticks * self.inst.tick_at(ref))
        w = min(widths)
        self.ref, self.lo, self.hi = ref, max(ref - w, 0), min(ref + w, 1 << 62)


class Gates:
    """The ``Gate`` s per account and instrument. The fast path over them is inlined in the
    risk component's submit handler (one dict lookup per account and instrument, then int
    compares); ``exact`` and ``positional`` are its slow and position-reading parts."""

    def __init__(self, ledger: Ledger, table: LimitTable) -> None:
        self.ledger = ledger
        self.table = table
        self.gates: dict[str, dict[str, Gate]] = {}

    def gate(self, account: str, iid: str) -> Gate | None:
        """The gate of (account, instrument), current with the ledger; None: unknown instrument."""
        per = self.gates.get(account)
        if per is None:
            per = self.gates[account] = {}
        g = per.get(iid)
        if g is None:
            info = self.ledger.insts.get(iid)
            if info is None:
                return None
            g = per[iid] = Gate(self.table.account(account, info.inst), self.table.firm(info.inst), info.inst)
        if g.ver != self.ledger.version:
            g.refresh(self.ledger)
        return g

    def exact(
        self, g: Gate, account: str, is_buy: bool, qty: int, price: int | None, now: int
    ) -> Breach | None:
        return check_order(self.ledger, self.table, account, g.inst, is_buy, qty, price, now)

    def positional(
        self, g: Gate, a: Account | None, account: str, is_buy: bool, qty: int, price: int | None, now: int
    ) -> Breach | None:
        """Position limits and buying power (the checks that read the position)."""
        ledger = self.ledger
        iid = g.iid
        p = a.positions.get(iid) if a is not None else None
        m = g.max_pos
        if m is not None:
            worst = qty
            if p is not None:
                worst = p.qty + p.open_buy + qty if is_buy else -(p.qty - p.open_sell - qty)
            if worst > m:
                return self.exact(g, account, is_buy, qty, price, now)
        m = g.firm_pos
        if m is not None:
            fp = ledger.firm_pos.get(iid)
            if fp is not None:
                worst = fp[0] + fp[1] + qty if is_buy else -(fp[0] - fp[2] - qty)
                if worst > m:
                    return self.exact(g, account, is_buy, qty, price, now)
        credit = g.credit
        if credit is not None:
            v = price if price is not None else ledger.px.get(iid)
            if (
                v is None
                or a is None
                or p is None
                or p.ver != ledger.version
                or p.nd is None
                or p.info is None
            ):
                return _buying_power(ledger, self.table, account, g.inst, g.lim, p, is_buy, qty, v)
            # the same arithmetic as _buying_power, on the position's cached factor
            q = p.qty
            hi = q + p.open_buy
            lo = q - p.open_sell
            ahi = hi if hi >= 0 else -hi
            alo = lo if lo >= 0 else -lo
            before = ahi if ahi >= alo else alo
            if is_buy:
                hi += qty
                ahi = hi if hi >= 0 else -hi
            else:
                lo -= qty
                alo = lo if lo >= 0 else -lo
            after = ahi if ahi >= alo else alo
            if after <= before:
                return None
            mark = ledger.px.get(iid, v)
            n, d = p.nd
            need = (after - before) * (v if v > mark else mark) * n * p.info.im_bp // (d * 10_000)
            if need > a.cash_total + a.upnl - a.im + credit:
                return _buying_power(ledger, self.table, account, g.inst, g.lim, p, is_buy, qty, v)
        return None
