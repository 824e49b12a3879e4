"""Risk commands and account status events. Status events are log events on ``account/<id>``,
seen by every component and subscriber as they happen.

Money fields are ints in units of ``currency`` (see system/risk/money.py); ``utilisation_bp`` is
maintenance margin / equity in basis points (None: equity is zero or negative).
"""

from __future__ import annotations

from typing import ClassVar

from system.eventlog.records import Command, Event

FIRM = "*"  # the account id that stands for the whole firm (kill switch, firm limits)


class EngageKillSwitch(Command, frozen=True, gc=False):
    """Cancel every open order of ``account`` (``"*"``: every account) and block new ones."""

    account: str
    reason: str = ""

    def stream(self) -> str:
        return f"input/account/{self.account}"


class ReleaseKillSwitch(Command, frozen=True, gc=False):
    account: str
    reason: str = ""

    def stream(self) -> str:
        return f"input/account/{self.account}"


class KillSwitchEngaged(Event, frozen=True, gc=False):
    account: str
    reason: str
    manual: bool

    def stream(self) -> str:
        return f"account/{self.account}"


class KillSwitchReleased(Event, frozen=True, gc=False):
    account: str
    reason: str

    def stream(self) -> str:
        return f"account/{self.account}"


class _MarginLevelCrossed(Event, frozen=True, gc=False):
    """The fields of a margin level crossed going up (not a record type itself)."""

    abstract: ClassVar[bool] = True

    account: str
    currency: str
    utilisation_bp: int | None
    maintenance_margin: int
    equity: int

    def stream(self) -> str:
        return f"account/{self.account}"


class MarginWarning(_MarginLevelCrossed, frozen=True, gc=False):
    """Utilisation crossed the warning level (default 80%) going up."""


class MarginCall(_MarginLevelCrossed, frozen=True, gc=False):
    """Utilisation crossed the call level (default 100%) going up."""


class MarginRestored(Event, frozen=True, gc=False):
    """Utilisation fell back below a level; ``level`` is the new one (0 normal, 1 warning)."""

    account: str
    currency: str
    level: int
    utilisation_bp: int | None
    maintenance_margin: int
    equity: int

    def stream(self) -> str:
        return f"account/{self.account}"


class LimitBreached(Event, frozen=True, gc=False):
    """An order hit a limit (it was rejected): which limit, at which scope, the limit and the value."""

    account: str
    scope: str  # "account" or "firm"
    limit: str  # one of system.risk.config.LIMIT_NAMES
    instrument: str
    limit_value: str  # decimal text in the limit's unit
    value: str
    text: str

    def stream(self) -> str:
        return f"account/{self.account}"


class RiskCommandRejected(Event, frozen=True, gc=False):
    command: str
    account: str
    text: str

    def stream(self) -> str:
        return f"account/{self.account}"
