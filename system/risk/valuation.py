"""The ledger's records (instruments, accounts, positions, open orders) and its valuation: money
conversions, cash, and each position's P&L and margin kept current by delta.

``Valuation`` is the base of ``Ledger`` (system/risk/ledger.py), which folds the log's records
into it; the accounting rules are in that module's docstring and in docs/risk.md.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from fractions import Fraction

import msgspec

from system.engine.refdata import Instrument
from system.pricing.fx import FxTable
from system.risk.config import RiskConfig
from system.risk.money import pair, raw_factor, to_money, unit_of


class InstInfo:
    __slots__ = ("d", "id", "im_bp", "inst", "mm_bp", "n", "quote")

    def __init__(self, inst: Instrument, cfg: RiskConfig) -> None:
        self.inst = inst
        self.id = inst.id
        self.quote = inst.quote_currency
        self.n, self.d = pair(raw_factor(inst, cfg.currencies))
        rate = cfg.margin_rate(inst.id)
        self.im_bp = rate.initial_bp
        self.mm_bp = rate.maintenance_bp


class Position:
    __slots__ = (
        "account", "booked", "cconv", "cost", "fees", "fills", "firm", "im_v", "info", "instrument",
        "mm_v", "nd", "open_buy", "open_sell", "packed", "qty", "realised", "upnl_v", "ver",
    )  # fmt: skip

    def __init__(self, account: Account, instrument: str) -> None:
        self.account = account
        self.instrument = instrument
        self.qty = 0
        self.cost = 0  # raw units (price x qty), signed like qty
        self.realised = 0  # raw units
        self.booked = 0  # realised in money units of the quote currency (floor of the total)
        self.fees = 0  # money units of the quote currency
        self.open_buy = 0
        self.open_sell = 0
        # (time, key, sign, price, qty, maker): key is the trade id, or -report id for a late trade
        self.fills: list[tuple[int, int, int, int, int, bool]] = []
        # fills restored from a snapshot and not unpacked yet (they come before ``fills``)
        self.packed = b""
        self.upnl_v = 0  # contributions in the account's currency, kept so totals update by delta
        self.im_v = 0
        self.mm_v = 0
        # cached: the instrument and the raw -> account-money factor, valid while ver matches
        self.ver = -1
        self.nd: tuple[int, int] | None = None
        self.info: InstInfo | None = None
        self.cconv: tuple[int, int] | None = None  # quote currency -> account currency money
        # the firm's [net position, open buys, open sells] in this instrument (shared list)
        self.firm: list[int] = [0, 0, 0]


class Account:
    __slots__ = (
        "cash", "cash_total", "cash_v", "cfg", "currency", "id", "im", "level", "mm", "n_open",
        "positions", "times", "upnl",
    )  # fmt: skip

    def __init__(self, account: str, cfg: RiskConfig) -> None:
        self.id = account
        self.cfg = cfg.account(account)
        self.currency = self.cfg.currency
        self.cash: dict[str, int] = {}
        self.cash_v: dict[str, int] = {}
        self.cash_total = 0
        self.positions: dict[str, Position] = {}
        self.upnl = 0
        self.im = 0
        self.mm = 0
        self.n_open = 0
        self.level = 0  # margin status: 0 normal, 1 warning, 2 call
        self.times: deque[int] = deque()  # acceptance times inside the rate window

    @property
    def equity(self) -> int:
        return self.cash_total + self.upnl


class OpenOrder(msgspec.Struct, gc=False):
    """An open order as the ledger tracks it. Built in C and untracked by the cycle collector
    (``gc=False``): it is not part of any cycle (nothing refers back to it but the ledger's dict),
    and with thousands open at once, GC-tracked lists here made the full collections of a
    full-risk run pause for ~17 ms."""

    account: Account
    pos: Position
    sign: int  # 1 buy, -1 sell
    leaves: int
    price: int | None
    cid: str


class Valuation:
    """Accounts, positions and prices, and the arithmetic that values them (no appliers).

    ``track_im``/``track_rate``: keep initial margin and order-rate windows current.
    ``track_fills``: keep positions, P&L, fees, cash valuation and margin at all; without it the
    ledger keeps only open orders, counters and prices (fills, corrections and revaluations are
    skipped). The read model keeps everything; the risk engine keeps only what its configured
    limits and events decide on."""

    def __init__(
        self, cfg: RiskConfig, *, track_im: bool = True, track_rate: bool = True, track_fills: bool = True
    ) -> None:
        self.cfg = cfg
        self.track_im = track_im
        self.track_rate = track_rate
        self.track_fills = track_fills
        self.insts: dict[str, InstInfo] = {}
        self.accounts: dict[str, Account] = {}
        self.orders: dict[int, OpenOrder] = {}
        self.holders: dict[str, dict[str, Position]] = {}
        self.px: dict[str, int] = {}  # valuation price: mark, else last trade, else reference
        self.marked: set[str] = set()
        self.last: dict[str, int] = {}
        self.reference: dict[str, int] = {}
        self.fx = FxTable(cfg.fx_pivots)
        self._factors: dict[tuple[str, str], tuple[int, int] | None] = {}
        self.version = 0  # bumps on listings and FX changes: cached factors refresh
        self._conv: dict[tuple[str, str], tuple[int, int] | None] = {}
        # firm totals per instrument: [net position, open buys, open sells]
        self.firm_pos: dict[str, list[int]] = {}
        self.firm_open = 0
        self.firm_times: deque[int] = deque()

    # -- open-order counts (the risk engine's lean mode reads them from the matching engine) ----
    def open_orders(self, account: str) -> int:
        a = self.accounts.get(account)
        return a.n_open if a is not None else 0

    def firm_open_orders(self) -> int:
        return self.firm_open

    # -- conversions -----------------------------------------------------------------------------
    def conv(self, src: str, dst: str) -> tuple[int, int] | None:
        """Money units of ``dst`` per money unit of ``src`` as (num, den); None without a rate."""
        key = (src, dst)
        try:
            return self._conv[key]
        except KeyError:
            pass
        rate = self.fx.fraction(src, dst)
        units = self.cfg.currencies
        got = (
            None
            if rate is None
            else pair(rate * Fraction(unit_of(src, units)) / Fraction(unit_of(dst, units)))
        )
        self._conv[key] = got
        return got

    def factor(self, currency: str, instrument: str) -> tuple[int, int] | None:
        """Money units of ``currency`` per raw unit (int price x int qty) of ``instrument``."""
        key = (currency, instrument)
        try:
            return self._factors[key]
        except KeyError:
            pass
        info = self.insts.get(instrument)
        c = None if info is None else self.conv(info.quote, currency)
        got = None if c is None or info is None else pair(Fraction(info.n * c[0], info.d * c[1]))
        self._factors[key] = got
        return got

    # -- accounts and positions ------------------------------------------------------------------
    def account(self, account: str) -> Account:
        a = self.accounts.get(account)
        if a is None:
            a = self.accounts[account] = Account(account, self.cfg)
            units = self.cfg.currencies
            for ccy, amount in sorted(a.cfg.balances.items()):
                self._cash_add(a, ccy, to_money(Decimal(amount), ccy, units))
        return a

    def position(self, a: Account, instrument: str) -> Position:
        p = a.positions.get(instrument)
        if p is None:
            p = a.positions[instrument] = Position(a, instrument)
            self.holders.setdefault(instrument, {})[a.id] = p
            firm = self.firm_pos.get(instrument)
            if firm is None:
                firm = self.firm_pos[instrument] = [0, 0, 0]
            p.firm = firm
        return p

    def _cash_add(self, a: Account, ccy: str, delta: int) -> None:
        if not delta and ccy in a.cash:
            return
        bal = a.cash.get(ccy, 0) + delta
        a.cash[ccy] = bal
        c = self.conv(ccy, a.currency)
        v = 0 if c is None else bal * c[0] // c[1]
        a.cash_total += v - a.cash_v.get(ccy, 0)
        a.cash_v[ccy] = v

    def _refresh(self, p: Position) -> None:
        p.nd = self.factor(p.account.currency, p.instrument)
        p.info = info = self.insts.get(p.instrument)
        p.cconv = None if info is None else self.conv(info.quote, p.account.currency)
        p.ver = self.version

    def revalue(self, p: Position) -> None:
        """Recompute one position's P&L and margin contributions and adjust its account's totals."""
        if p.ver != self.version:
            self._refresh(p)
        if not self.track_fills:
            return  # no valuation kept: P&L and margin stay zero
        a = p.account
        f = p.nd
        px = self.px.get(p.instrument)
        if f is None or px is None or p.info is None:
            upnl = im = mm = 0
        else:
            n, d = f
            info = p.info
            q = p.qty
            upnl = (px * q - p.cost) * n // d
            e = q + p.open_buy
            e = e if e >= 0 else -e
            s = q - p.open_sell
            s = s if s >= 0 else -s
            if s > e:
                e = s
            aq = q if q >= 0 else -q
            im = e * px * n * info.im_bp // (d * 10_000)
            mm = aq * px * n * info.mm_bp // (d * 10_000)
        a.upnl += upnl - p.upnl_v
        a.im += im - p.im_v
        a.mm += mm - p.mm_v
        p.upnl_v, p.im_v, p.mm_v = upnl, im, mm

    def revalue_im(self, p: Position) -> None:
        """Initial margin only: an open order came or went (position and price unchanged)."""
        if p.ver != self.version:
            self.revalue(p)
            return
        f = p.nd
        px = self.px.get(p.instrument)
        if f is None or px is None or p.info is None:
            im = 0
        else:
            q = p.qty
            e = q + p.open_buy
            e = e if e >= 0 else -e
            s = q - p.open_sell
            s = s if s >= 0 else -s
            if s > e:
                e = s
            im = e * px * f[0] * p.info.im_bp // (f[1] * 10_000)
        p.account.im += im - p.im_v
        p.im_v = im

    def revalue_instrument(self, instrument: str) -> None:
        if not self.track_fills:
            return
        for p in self.holders.get(instrument, {}).values():
            self.revalue(p)

    def revalue_all(self) -> None:
        self._factors.clear()
        self._conv.clear()
        self.version += 1
        for a in self.accounts.values():
            for ccy in sorted(a.cash):
                self._cash_add(a, ccy, 0)
            for p in a.positions.values():
                self.revalue(p)
