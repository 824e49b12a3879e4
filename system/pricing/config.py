"""The pricing engine's configuration: the ``[pricing]`` table of a run's TOML file.

[pricing]
default_method = "last"            # last | mid | composite | manual
fx_pivots = ["USD"]                # cross rates go through these, in order
crosses = [["BTC", "JPY"]]         # published as FxRateSet whenever a leg changes
bars = ["1s", "1m", "5m", "1h", "1d"]

[pricing.marks."CRYPTO:BTC-JPY"]
method = "composite"
stale_after = "5s"                 # a source older than this is left out
outlier_bp = 200                   # a source more than 2% from the median is left out
sources = [{ name = "venueA", weight = 3 }, { name = "venueB", weight = 1 }, { name = "self" }]

[pricing.venues.XTKS]
tz = "Asia/Tokyo"                  # bars align to this zone's clock
day_start = "00:00"                # local time the trade date rolls (CME: "17:00")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from system.pricing.tomlfile import ConfigError, convert, duration_ns, read_toml

MarkMethod = Literal["last", "mid", "composite", "manual"]
BAR_INTERVALS: dict[str, int] = {
    "1s": 10**9,
    "1m": 60 * 10**9,
    "5m": 300 * 10**9,
    "1h": 3600 * 10**9,
    "1d": 86_400 * 10**9,
}
SELF_SOURCE = "self"  # a composite source that is the instrument's own last trade


class SourceWeight(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    weight: int = 1


class MarkRule(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    method: MarkMethod = "last"
    sources: tuple[SourceWeight, ...] = ()
    stale_after: str = "10s"
    outlier_bp: int = 0  # 0: no outlier exclusion
    min_sources: int = 1


class VenueZone(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    tz: str = "UTC"
    day_start: str = "00:00"


class PricingConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    default_method: MarkMethod = "last"
    marks: dict[str, MarkRule] = msgspec.field(default_factory=dict)
    fx_pivots: tuple[str, ...] = ("USD",)
    crosses: tuple[tuple[str, str], ...] = ()
    bars: tuple[str, ...] = ("1s", "1m", "5m", "1h", "1d")
    venues: dict[str, VenueZone] = msgspec.field(default_factory=dict)

    def rule(self, instrument: str) -> MarkRule:
        r = self.marks.get(instrument)
        return r if r is not None else MarkRule(method=self.default_method)


def validate(cfg: PricingConfig, source: str = "<config>") -> PricingConfig:
    """Checks msgspec cannot express; raises ConfigError naming the key and the value."""
    for inst, rule in sorted(cfg.marks.items()):
        key = f"pricing.marks.{inst}"
        duration_ns(rule.stale_after, f"{key}.stale_after", source)
        if rule.outlier_bp < 0:
            raise ConfigError(f"{source}: {key}.outlier_bp = {rule.outlier_bp}: must be >= 0")
        if rule.method == "composite" and not rule.sources:
            raise ConfigError(f"{source}: {key}.sources: a composite mark needs at least one source")
        if rule.min_sources < 1:
            raise ConfigError(f"{source}: {key}.min_sources = {rule.min_sources}: must be >= 1")
        seen: set[str] = set()
        for i, s in enumerate(rule.sources):
            if s.weight <= 0:
                raise ConfigError(f"{source}: {key}.sources[{i}].weight = {s.weight}: must be positive")
            if s.name in seen:
                raise ConfigError(f"{source}: {key}.sources[{i}].name = {s.name!r}: listed twice")
            seen.add(s.name)
    for i, b in enumerate(cfg.bars):
        if b not in BAR_INTERVALS:
            raise ConfigError(f"{source}: pricing.bars[{i}] = {b!r}: not one of {', '.join(BAR_INTERVALS)}")
    for venue, vz in sorted(cfg.venues.items()):
        try:
            ZoneInfo(vz.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{source}: pricing.venues.{venue}.tz = {vz.tz!r}: unknown time zone") from None
        day_start_ns(vz.day_start, f"pricing.venues.{venue}.day_start", source)
    for i, pair in enumerate(cfg.crosses):
        if pair[0] == pair[1]:
            raise ConfigError(f"{source}: pricing.crosses[{i}] = {list(pair)!r}: base and quote are the same")
    return cfg


def day_start_ns(text: str, key: str, source: str) -> int:
    """``"17:00"`` as nanoseconds after local midnight."""
    hh, sep, mm = text.partition(":")
    if not (sep and hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60):
        raise ConfigError(f"{source}: {key} = {text!r}: not a local time like 00:00 or 17:00")
    return (int(hh) * 3600 + int(mm) * 60) * 10**9


def parse_pricing(data: dict[str, Any], source: str = "<config>") -> PricingConfig:
    return validate(convert(data, PricingConfig, source=source, prefix="pricing"), source)


def load_pricing(path: str | Path) -> PricingConfig | None:
    """The ``[pricing]`` table of ``path`` (None if the file has none)."""
    data = read_toml(path)
    table = data.get("pricing")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: pricing = {table!r}: must be a table")
    return parse_pricing(table, str(path))


def as_pricing_config(value: Any) -> PricingConfig | None:
    """SystemConfig.pricing as a PricingConfig (a RunConfigured replay gives back plain dicts)."""
    if value is None or isinstance(value, PricingConfig):
        return value
    return msgspec.convert(value, PricingConfig)
