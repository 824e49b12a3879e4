"""The risk engine's configuration: the ``[risk]`` table of a run's TOML file (see
config/risk.example.toml). Amounts are decimal strings (money in the account's or firm's
currency, quantities in instrument units); rates are integer basis points. Floats are refused.

Limit names (used by ``kill_on``, ``LimitBreached.limit`` and rejections' ``field``):
max_order_qty, max_notional, price_collar, max_open_orders, max_orders_per_second, max_position,
buying_power; ``margin_call`` in ``kill_on`` engages the kill switch on a margin call.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import msgspec

from system.pricing.tomlfile import ConfigError, convert, decimal_of, read_toml
from system.risk.money import to_money

LIMIT_NAMES = (
    "max_order_qty",
    "max_notional",
    "price_collar",
    "max_open_orders",
    "max_orders_per_second",
    "max_position",
    "buying_power",
)
KILL_TRIGGERS = (*LIMIT_NAMES, "margin_call")


class InstrumentLimits(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Overrides of an account's (or the firm's) limits for one instrument."""

    max_order_qty: str | None = None
    max_position: str | None = None
    collar_bp: int | None = None
    collar_ticks: int | None = None


class FirmLimits(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Limits on the whole firm: per order, and on totals across accounts."""

    max_order_qty: str | None = None  # instrument units, any instrument
    max_notional: str | None = None  # per order, in the limit's currency
    collar_bp: int | None = None  # price collar around the reference, percent in bp
    collar_ticks: int | None = None  # ... or in ticks at the reference price
    max_open_orders: int | None = None
    max_orders_per_second: int | None = None
    max_position: str | None = None  # net, per instrument, instrument units
    instruments: dict[str, InstrumentLimits] = msgspec.field(default_factory=dict)
    kill_on: tuple[str, ...] = ()


class AccountConfig(FirmLimits, frozen=True, kw_only=True, forbid_unknown_fields=True):
    currency: str = "JPY"
    balances: dict[str, str] = msgspec.field(default_factory=dict)  # opening cash per currency
    credit: str | None = None  # buying power is checked when set ("0": cash only)
    maker_fee_bp: int = 0
    taker_fee_bp: int = 0


class MarginRate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    initial_bp: int = 10_000
    maintenance_bp: int = 5_000


class RiskConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    base_currency: str = "JPY"  # the firm's currency
    warning_bp: int = 8_000  # MarginWarning at this utilisation (maintenance margin / equity)
    call_bp: int = 10_000  # MarginCall at this utilisation
    rearm_bp: int = 0  # a level clears only this far below its threshold (hysteresis)
    collar_reference: Literal["mark", "reference"] = "mark"
    fx_pivots: tuple[str, ...] = ("USD",)
    currencies: dict[str, str] = msgspec.field(default_factory=dict)  # money unit per currency
    margin: MarginRate = MarginRate()
    instruments: dict[str, MarginRate] = msgspec.field(default_factory=dict)
    firm: FirmLimits = FirmLimits()
    default_account: AccountConfig = AccountConfig()
    accounts: dict[str, AccountConfig] = msgspec.field(default_factory=dict)

    def account(self, account: str) -> AccountConfig:
        a = self.accounts.get(account)
        return a if a is not None else self.default_account

    def margin_rate(self, instrument: str) -> MarginRate:
        m = self.instruments.get(instrument)
        return m if m is not None else self.margin


def _nonneg_int(v: int | None, key: str, source: str) -> None:
    if v is not None and v < 0:
        raise ConfigError(f"{source}: {key} = {v}: must not be negative")


def _qty(v: str | None, key: str, source: str) -> None:
    if v is not None and decimal_of(v, key, source) < 0:
        raise ConfigError(f"{source}: {key} = {v!r}: must not be negative")


def _money(v: str | None, key: str, currency: str, cfg: RiskConfig, source: str) -> None:
    if v is None:
        return
    d = decimal_of(v, key, source)
    try:
        to_money(d, currency, cfg.currencies)
    except ValueError as e:
        raise ConfigError(f"{source}: {key} = {v!r}: {e}") from None


def _limits(lim: FirmLimits, key: str, currency: str, cfg: RiskConfig, source: str) -> None:
    _qty(lim.max_order_qty, f"{key}.max_order_qty", source)
    _qty(lim.max_position, f"{key}.max_position", source)
    _money(lim.max_notional, f"{key}.max_notional", currency, cfg, source)
    if lim.max_notional is not None and decimal_of(lim.max_notional, f"{key}.max_notional", source) < 0:
        raise ConfigError(f"{source}: {key}.max_notional = {lim.max_notional!r}: must not be negative")
    for name in ("collar_bp", "collar_ticks", "max_open_orders", "max_orders_per_second"):
        _nonneg_int(getattr(lim, name), f"{key}.{name}", source)
    for inst, il in sorted(lim.instruments.items()):
        k = f"{key}.instruments.{inst}"
        _qty(il.max_order_qty, f"{k}.max_order_qty", source)
        _qty(il.max_position, f"{k}.max_position", source)
        _nonneg_int(il.collar_bp, f"{k}.collar_bp", source)
        _nonneg_int(il.collar_ticks, f"{k}.collar_ticks", source)
    for i, trig in enumerate(lim.kill_on):
        if trig not in KILL_TRIGGERS:
            raise ConfigError(
                f"{source}: {key}.kill_on[{i}] = {trig!r}: not one of {', '.join(KILL_TRIGGERS)}"
            )


def validate(cfg: RiskConfig, source: str = "<config>") -> RiskConfig:
    """Checks msgspec cannot express; raises ConfigError naming the key and the value."""
    for ccy, unit in sorted(cfg.currencies.items()):
        if decimal_of(unit, f"risk.currencies.{ccy}", source) <= 0:
            raise ConfigError(f"{source}: risk.currencies.{ccy} = {unit!r}: a unit must be positive")
    if not 0 < cfg.warning_bp <= cfg.call_bp:
        raise ConfigError(
            f"{source}: risk.warning_bp = {cfg.warning_bp}: "
            f"must be positive and at most call_bp ({cfg.call_bp})"
        )
    _nonneg_int(cfg.rearm_bp, "risk.rearm_bp", source)
    for key, m in [("risk.margin", cfg.margin)] + [
        (f"risk.instruments.{i}", r) for i, r in sorted(cfg.instruments.items())
    ]:
        if m.initial_bp < 0 or m.maintenance_bp < 0:
            raise ConfigError(f"{source}: {key}: margin rates must not be negative")
        if m.maintenance_bp > m.initial_bp:
            raise ConfigError(
                f"{source}: {key}.maintenance_bp = {m.maintenance_bp}: "
                f"must not exceed initial_bp ({m.initial_bp})"
            )
    _limits(cfg.firm, "risk.firm", cfg.base_currency, cfg, source)
    named = [("risk.default_account", cfg.default_account)] + [
        (f"risk.accounts.{a}", c) for a, c in sorted(cfg.accounts.items())
    ]
    for key, acct in named:
        _limits(acct, key, acct.currency, cfg, source)
        _money(acct.credit, f"{key}.credit", acct.currency, cfg, source)
        for ccy, amount in sorted(acct.balances.items()):
            _money(amount, f"{key}.balances.{ccy}", ccy, cfg, source)
        for name in ("maker_fee_bp", "taker_fee_bp"):
            v = getattr(acct, name)
            if not -10_000 <= v <= 10_000:
                raise ConfigError(f"{source}: {key}.{name} = {v}: must be within -10000..10000 bp")
    return cfg


def parse_risk(data: dict[str, Any], source: str = "<config>") -> RiskConfig:
    return validate(convert(data, RiskConfig, source=source, prefix="risk"), source)


def load_risk(path: str | Path) -> RiskConfig | None:
    """The ``[risk]`` table of ``path`` (None if the file has none)."""
    data = read_toml(path)
    table = data.get("risk")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: risk = {table!r}: must be a table")
    return parse_risk(table, str(path))


def as_risk_config(value: Any) -> RiskConfig | None:
    """SystemConfig.risk as a RiskConfig (a RunConfigured replay gives back plain dicts)."""
    if value is None or isinstance(value, RiskConfig):
        return value
    return msgspec.convert(value, RiskConfig)


def dec(value: str) -> Decimal:
    """A config amount already validated by ``validate``."""
    return Decimal(value)
