"""The pricing engine: marks, FX and cross rates, reference prices, OHLC bars. See docs/pricing.md.

Importing this package registers its component (after the matching engine) and its read models
with the composition root; with ``SystemConfig.pricing`` None it adds nothing.
"""

from system.bootstrap import PLUGINS, SystemConfig
from system.pricing.bars import (
    SESSIONS,
    Bar,
    BarProjection,
    VenueSessions,
    ZoneSessions,
    bar_projection,
    venue_sessions,
)
from system.pricing.component import Pricing
from system.pricing.config import (
    BAR_INTERVALS,
    MarkRule,
    PricingConfig,
    SourceWeight,
    VenueZone,
    as_pricing_config,
    load_pricing,
    parse_pricing,
)
from system.pricing.events import (
    MarkPriceSet,
    PricingRejected,
    RecomputeMarks,
    RollReferencePrices,
    SetFxRate,
    SetMarkPrice,
    SetSourcePrice,
    SourcePriceSet,
)
from system.pricing.fx import FxTable, Rate, invert, multiply, parse_rate
from system.pricing.projections import MarksProjection
from system.pricing.tomlfile import ConfigError
from system.runtime import Component, Projection

__all__ = [
    "BAR_INTERVALS",
    "SESSIONS",
    "Bar",
    "BarProjection",
    "ConfigError",
    "FxTable",
    "MarkPriceSet",
    "MarkRule",
    "MarksProjection",
    "Pricing",
    "PricingConfig",
    "PricingRejected",
    "Rate",
    "RecomputeMarks",
    "RollReferencePrices",
    "SetFxRate",
    "SetMarkPrice",
    "SetSourcePrice",
    "SourcePriceSet",
    "SourceWeight",
    "VenueSessions",
    "VenueZone",
    "ZoneSessions",
    "as_pricing_config",
    "bar_projection",
    "invert",
    "load_pricing",
    "multiply",
    "parse_pricing",
    "parse_rate",
    "venue_sessions",
]


def _components(config: SystemConfig) -> list[Component]:
    cfg = as_pricing_config(config.pricing)
    return [] if cfg is None else [Pricing(cfg)]


def _projections(config: SystemConfig) -> list[Projection]:
    cfg = as_pricing_config(config.pricing)
    if cfg is None:
        return []
    return [MarksProjection(cfg.fx_pivots), bar_projection(cfg)]


PLUGINS.after_engine.append(_components)
PLUGINS.projections.append(_projections)
