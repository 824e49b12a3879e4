"""The hedging engine: nets the house's exposure per asset, values it through pricing's FX and
hedges past configured thresholds on external venues. See docs/hedging.md.

The composition root (system/bootstrap.py) puts its component after pricing when
``SystemConfig.hedging`` is set. Venues are reached only through the ``HedgeVenue`` port, by the
``HedgeDesk`` outside the runtime.
"""

from system.hedging.component import Hedger
from system.hedging.config import (
    AssetHedge,
    HedgeRoute,
    HedgingConfig,
    as_hedging_config,
    load_hedging,
    parse_hedging,
)
from system.hedging.desk import HedgeDesk
from system.hedging.events import (
    EvaluateHedges,
    HedgeCancelRequested,
    HedgeCommandRejected,
    HedgeExposure,
    HedgeHalted,
    HedgeOrderDone,
    HedgeOrderFilled,
    HedgeOrderPlaced,
    HedgeOrderRejected,
    HedgeResumed,
    HedgeVenueDown,
    HedgeVenueUp,
    RecordHedgeDone,
    RecordHedgeFill,
    RecordHedgeReject,
    RecordVenueDown,
    RecordVenueUp,
    ResumeHedging,
)
from system.hedging.port import HedgeVenue, Report, VenueUnavailable

__all__ = [
    "AssetHedge",
    "EvaluateHedges",
    "HedgeCancelRequested",
    "HedgeCommandRejected",
    "HedgeDesk",
    "HedgeExposure",
    "HedgeHalted",
    "HedgeOrderDone",
    "HedgeOrderFilled",
    "HedgeOrderPlaced",
    "HedgeOrderRejected",
    "HedgeResumed",
    "HedgeRoute",
    "HedgeVenue",
    "HedgeVenueDown",
    "HedgeVenueUp",
    "Hedger",
    "HedgingConfig",
    "RecordHedgeDone",
    "RecordHedgeFill",
    "RecordHedgeReject",
    "RecordVenueDown",
    "RecordVenueUp",
    "Report",
    "ResumeHedging",
    "VenueUnavailable",
    "as_hedging_config",
    "load_hedging",
    "parse_hedging",
]
