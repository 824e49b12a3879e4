"""The hedging engine's configuration: the ``[hedging]`` table of a run's TOML file.

[hedging]
base_currency = "JPY"              # exposure is valued (and thresholds are written) in this
house_accounts = ["HOUSE"]         # the accounts whose fills are the house's exposure
account = "HOUSE"                  # where HedgeHalted/HedgeResumed go (default: the first house account)
on_outage = "failover"             # failover: try the next venue; stop: halt the asset's hedging
max_attempts = 3                   # tries on one venue without a fill (rejects, nothing filled) before
                                   # it counts as failing for that asset

[hedging.assets.BTC]
threshold = "1000000"              # hedge when |net exposure| is worth more than this (base currency)
target = "0"                       # ... down to at most this
max_order_qty = "1"                # per hedge order, in the asset
unit = "0.00000001"                # the asset's smallest amount (default: system/risk/money.py's)
venues = [                         # preference order
  { venue = "EXTA", instrument = "EXTA:BTC/JPY", qty_increment = "0.0001", price_increment = "1" },
  { venue = "EXTB", instrument = "EXTB:BTC/JPY", qty_increment = "0.0001", price_increment = "1" },
]

Amounts are decimal strings; floats are refused. Errors name the key and the value.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import msgspec

from system.pricing.tomlfile import ConfigError, convert, decimal_of, read_toml
from system.risk.money import unit_of


class HedgeRoute(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Where an asset can be hedged: a venue and its instrument, with that instrument's increments
    (a hedge order's quantity counts ``qty_increment`` lots; fill prices count ``price_increment``)."""

    venue: str
    instrument: str
    qty_increment: str = "1"
    price_increment: str = "1"


class AssetHedge(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    threshold: str
    target: str = "0"
    max_order_qty: str
    unit: str | None = None
    venues: tuple[HedgeRoute, ...]


class HedgingConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    base_currency: str = "JPY"
    house_accounts: tuple[str, ...] = ("HOUSE",)
    account: str = ""
    on_outage: Literal["failover", "stop"] = "failover"
    max_attempts: int = 3
    currencies: dict[str, str] = msgspec.field(default_factory=dict)  # money unit per currency
    assets: dict[str, AssetHedge] = msgspec.field(default_factory=dict)

    def event_account(self) -> str:
        return self.account or self.house_accounts[0]

    def unit(self, asset: str) -> Decimal:
        a = self.assets.get(asset)
        if a is not None and a.unit is not None:
            return Decimal(a.unit)
        return unit_of(asset, self.currencies)

    def lot_units(self, asset: str, route: HedgeRoute) -> int:
        """Asset units in one lot of ``route`` (validated to be a whole number)."""
        return int(Decimal(route.qty_increment) / self.unit(asset))

    def base_units(self, amount: str) -> int:
        """A base-currency amount as an int of its money unit (floored)."""
        return int(Fraction(Decimal(amount)) / Fraction(unit_of(self.base_currency, self.currencies)))


def _positive(v: str, key: str, source: str, *, zero_ok: bool = False) -> Decimal:
    d = decimal_of(v, key, source)
    if d < 0 or (d == 0 and not zero_ok):
        raise ConfigError(f"{source}: {key} = {v!r}: must be {'zero or more' if zero_ok else 'positive'}")
    return d


def validate(cfg: HedgingConfig, source: str = "<config>") -> HedgingConfig:
    """Checks msgspec cannot express; raises ConfigError naming the key and the value."""
    if not cfg.house_accounts or any(not a for a in cfg.house_accounts):
        raise ConfigError(
            f"{source}: hedging.house_accounts = {list(cfg.house_accounts)!r}: name at least one account"
        )
    if cfg.max_attempts < 1:
        raise ConfigError(f"{source}: hedging.max_attempts = {cfg.max_attempts}: must be at least 1")
    if not cfg.base_currency:
        raise ConfigError(f"{source}: hedging.base_currency = '': name a currency")
    for ccy, unit in sorted(cfg.currencies.items()):
        _positive(unit, f"hedging.currencies.{ccy}", source)
    for asset, a in sorted(cfg.assets.items()):
        key = f"hedging.assets.{asset}"
        threshold = _positive(a.threshold, f"{key}.threshold", source)
        target = _positive(a.target, f"{key}.target", source, zero_ok=True)
        if target >= threshold:
            raise ConfigError(
                f"{source}: {key}.target = {a.target!r}: must be below threshold ({a.threshold})"
            )
        if a.unit is not None:
            _positive(a.unit, f"{key}.unit", source)
        asset_unit = cfg.unit(asset)
        max_qty = _positive(a.max_order_qty, f"{key}.max_order_qty", source)
        if not a.venues:
            raise ConfigError(f"{source}: {key}.venues: name at least one venue to hedge on")
        seen: set[str] = set()
        for i, r in enumerate(a.venues):
            k = f"{key}.venues[{i}]"
            if not r.venue or not r.instrument:
                raise ConfigError(f"{source}: {k}: venue and instrument must not be empty")
            if r.venue in seen:
                raise ConfigError(f"{source}: {k}.venue = {r.venue!r}: listed twice")
            seen.add(r.venue)
            inc = _positive(r.qty_increment, f"{k}.qty_increment", source)
            _positive(r.price_increment, f"{k}.price_increment", source)
            if (inc / asset_unit) != (inc / asset_unit).to_integral_value():
                raise ConfigError(
                    f"{source}: {k}.qty_increment = {r.qty_increment!r}: not a whole number of the "
                    f"{asset} unit {asset_unit}"
                )
            if max_qty < inc:
                raise ConfigError(
                    f"{source}: {key}.max_order_qty = {a.max_order_qty!r}: smaller than one lot "
                    f"({r.qty_increment}) on {r.venue}"
                )
    return cfg


def parse_hedging(data: dict[str, Any], source: str = "<config>") -> HedgingConfig:
    return validate(convert(data, HedgingConfig, source=source, prefix="hedging"), source)


def load_hedging(path: str | Path) -> HedgingConfig | None:
    """The ``[hedging]`` table of ``path`` (None if the file has none)."""
    data = read_toml(path)
    table = data.get("hedging")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: hedging = {table!r}: must be a table")
    return parse_hedging(table, str(path))


def as_hedging_config(value: Any) -> HedgingConfig | None:
    """SystemConfig.hedging as a HedgingConfig (a RunConfigured replay gives back plain dicts)."""
    if value is None or value is msgspec.UNSET:
        return None
    if isinstance(value, HedgingConfig):
        return value
    return msgspec.convert(value, HedgingConfig)
