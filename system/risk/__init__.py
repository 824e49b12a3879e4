"""The risk engine: pre-trade checks, positions and P&L, margin, account status events and the
kill switch. See docs/risk.md.

Importing this package registers the risk component before the matching engine and the accounts
read model with the composition root; with ``SystemConfig.risk`` None it adds nothing.
"""

from system.bootstrap import PLUGINS, SystemConfig
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
from system.runtime import Component, Projection

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


def _components(config: SystemConfig) -> list[Component]:
    cfg = as_risk_config(config.risk)
    return [] if cfg is None else [Risk(cfg)]


def _projections(config: SystemConfig) -> list[Projection]:
    cfg = as_risk_config(config.risk)
    return [] if cfg is None else [AccountsProjection(cfg)]


PLUGINS.before_engine.append(_components)
PLUGINS.projections.append(_projections)
