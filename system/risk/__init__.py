"""The risk engine: pre-trade checks, positions and P&L, margin, account status events and the
kill switch. See docs/risk.md.

The composition root (system/bootstrap.py) puts the risk component before the matching engine and
adds the accounts read model when ``SystemConfig.risk`` is set.
"""

from system.pricing.tomlfile import ConfigError
from system.risk.component import Risk, margin_level
from system.risk.config import (
    KILL_TRIGGERS,
    LIMIT_NAMES,
    AccountConfig,
    FirmLimits,
    InstrumentLimits,
    MarginRate,
    RiskConfig,
    as_risk_config,
    load_risk,
    parse_risk,
)
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
from system.risk.projections import AccountsProjection, MarginView, OpenOrderView, PnlView, PositionView

__all__ = [
    "FIRM",
    "KILL_TRIGGERS",
    "LIMIT_NAMES",
    "AccountConfig",
    "AccountsProjection",
    "ConfigError",
    "EngageKillSwitch",
    "FirmLimits",
    "InstrumentLimits",
    "KillSwitchEngaged",
    "KillSwitchReleased",
    "Ledger",
    "LimitBreached",
    "MarginCall",
    "MarginRate",
    "MarginRestored",
    "MarginView",
    "MarginWarning",
    "OpenOrderView",
    "PnlView",
    "PositionView",
    "ReleaseKillSwitch",
    "Risk",
    "RiskCommandRejected",
    "RiskConfig",
    "as_risk_config",
    "load_risk",
    "margin_level",
    "parse_risk",
]
