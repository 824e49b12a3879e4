"""The pricing engine: marks, FX and cross rates, reference prices, OHLC bars. See docs/pricing.md.

The composition root (system/bootstrap.py) puts its component after the matching engine and adds
its read models when ``SystemConfig.pricing`` is set.
"""

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
