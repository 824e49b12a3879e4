"""The external exchange's profile: which venue it lists, its FIX sessions, feed and liquidity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mocks.base import MockError
from mocks.profile import Fields
from system.engine.deviations import REFERENCE, Rules, parse_differences
from system.gateways.fix.config import ConfigError, SessionsConfig, parse_sessions

_TOP = {"exchange", "fix", "itch", "liquidity"}


@dataclass(frozen=True, slots=True)
class Liquidity:
    """A resting ladder the exchange keeps on each book, so a hedge has something to trade with:
    ``levels`` prices a side, the first ``spread_ticks`` from the reference price, then one
    ``step_ticks`` apart, ``lots`` lots each. Refilled after every fill (in the log, as commands)."""

    account: str = "EXCH-LP"
    levels: int = 5
    lots: int = 10
    spread_ticks: int = 2
    step_ticks: int = 1


@dataclass(frozen=True, slots=True)
class ExchangeProfile:
    venue: str
    instruments: tuple[str, ...]
    calendar: bool
    log: str
    sessions: SessionsConfig
    itch: bool
    itch_port: int
    liquidity: Liquidity | None
    rules: Rules = REFERENCE  # the reference, or deliberate rule differences (tests of the oracle)


def _rules(ex: Fields, name: str) -> Rules:
    """``rule_difference``: one name, several comma-separated, or a list of names ("" or absent:
    Chronex's own rules)."""
    raw = ex.t.get("rule_difference", "")
    if isinstance(raw, list) and all(isinstance(x, str) for x in raw):
        raw = ",".join(raw)
    if not isinstance(raw, str):
        raise MockError(f"{name}: {ex._at('rule_difference')}: {raw!r} is not a name or a list of names")
    try:
        return Rules(parse_differences(raw))
    except ValueError as e:
        raise MockError(f"{name}: {ex._at('rule_difference')}: {e}") from None


def parse_profile(raw: dict[str, Any], name: str = "exchange") -> ExchangeProfile:
    top = Fields(raw, "")
    top.unknown(_TOP)
    ex = top.sub("exchange")
    ex.unknown({"venue", "instruments", "calendar", "log", "rule_difference"})
    rules = _rules(ex, name)
    fix = top.sub("fix")
    fix.unknown({"sender_comp_id", "heartbeat_s", "session"})
    sender = fix.text("sender_comp_id", "EXCH")
    sessions = []
    for s in fix.tables("session"):
        sessions.append(
            {"sender_comp_id": sender, "heartbeat_s": fix.integer("heartbeat_s", 30, low=1), **s.t}
        )
    if not sessions:
        raise MockError(f"{name}: fix.session: at least one [[fix.session]] is required")
    try:
        cfg = parse_sessions({"session": sessions}, f"{name} profile fix")
    except ConfigError as e:
        raise MockError(str(e)) from None
    itch = top.sub("itch")
    itch.unknown({"enabled", "port"})
    liq = top.sub("liquidity")
    liq.unknown({"enabled", "account", "levels", "lots", "spread_ticks", "step_ticks"})
    liquidity = None
    if liq.flag("enabled", True):
        liquidity = Liquidity(
            account=liq.text("account", "EXCH-LP"),
            levels=liq.integer("levels", 5, low=1, high=50),
            lots=liq.integer("lots", 10, low=1),
            spread_ticks=liq.integer("spread_ticks", 2, low=1),
            step_ticks=liq.integer("step_ticks", 1, low=1),
        )
    return ExchangeProfile(
        venue=ex.text("venue", "CRYPTO"),
        instruments=ex.texts("instruments"),
        calendar=ex.flag("calendar", False),
        log=ex.text("log", "memory://"),
        sessions=cfg,
        itch=itch.flag("enabled", True),
        itch_port=itch.integer("port", 0, low=0, high=65535),
        liquidity=liquidity,
        rules=rules,
    )
