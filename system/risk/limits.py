"""Limits resolved once per (account, instrument) into ints, so a check is a dict lookup and a
compare. Quantities become int instrument units (floored to the quantity increment), money
becomes int units of the limit's currency; instrument overrides win over account-wide values.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from system.engine.refdata import Instrument
from system.risk.config import FirmLimits, RiskConfig
from system.risk.money import to_money


class Resolved:
    __slots__ = (
        "collar_bp", "collar_ticks", "credit", "currency", "kill_on", "max_notional", "max_open",
        "max_pos", "max_qty", "max_rate",
    )  # fmt: skip

    def __init__(self) -> None:
        self.currency = ""
        self.max_qty: int | None = None
        self.max_pos: int | None = None
        self.collar_bp: int | None = None
        self.collar_ticks: int | None = None
        self.max_notional: int | None = None
        self.max_open: int | None = None
        self.max_rate: int | None = None
        self.credit: int | None = None
        self.kill_on: frozenset[str] = frozenset()


def _qty_units(value: str | None, inst: Instrument) -> int | None:
    if value is None:
        return None
    return int((Decimal(value) / Decimal(inst.qty_increment)).to_integral_value(ROUND_FLOOR))


def resolve(
    lim: FirmLimits, currency: str, inst: Instrument, cfg: RiskConfig, credit: str | None
) -> Resolved:
    r = Resolved()
    r.currency = currency
    over = lim.instruments.get(inst.id)
    r.max_qty = _qty_units(
        over.max_order_qty if over and over.max_order_qty is not None else lim.max_order_qty, inst
    )
    r.max_pos = _qty_units(
        over.max_position if over and over.max_position is not None else lim.max_position, inst
    )
    r.collar_bp = over.collar_bp if over and over.collar_bp is not None else lim.collar_bp
    r.collar_ticks = over.collar_ticks if over and over.collar_ticks is not None else lim.collar_ticks
    units = cfg.currencies
    r.max_notional = (
        None if lim.max_notional is None else to_money(Decimal(lim.max_notional), currency, units)
    )
    r.max_open = lim.max_open_orders
    r.max_rate = lim.max_orders_per_second
    r.credit = None if credit is None else to_money(Decimal(credit), currency, units)
    r.kill_on = frozenset(lim.kill_on)
    return r


class LimitTable:
    """Resolved limits per (account, instrument) and per instrument for the firm, built on first
    use (a pure function of the configuration and the instrument, so caching is safe)."""

    def __init__(self, cfg: RiskConfig) -> None:
        self.cfg = cfg
        self._acct: dict[tuple[str, str], Resolved] = {}
        self._firm: dict[str, Resolved] = {}

    def account(self, account: str, inst: Instrument) -> Resolved:
        key = (account, inst.id)
        r = self._acct.get(key)
        if r is None:
            a = self.cfg.account(account)
            r = self._acct[key] = resolve(a, a.currency, inst, self.cfg, a.credit)
        return r

    def firm(self, inst: Instrument) -> Resolved:
        r = self._firm.get(inst.id)
        if r is None:
            r = self._firm[inst.id] = resolve(self.cfg.firm, self.cfg.base_currency, inst, self.cfg, None)
        return r

    def firm_kill_on(self) -> frozenset[str]:
        return frozenset(self.cfg.firm.kill_on)

    def account_kill_on(self, account: str) -> frozenset[str]:
        return frozenset(self.cfg.account(account).kill_on)
