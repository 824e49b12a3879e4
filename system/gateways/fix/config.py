"""Session settings: the sessions TOML that maps each CompID pair to its accounts and role.

```toml
[defaults]                      # optional; every key of a [[session]] may be given here
heartbeat_s = 30

[[session]]
sender_comp_id = "CHRONEX"      # our side
target_comp_id = "CLIENT1"      # the peer
role = "order-entry"            # or "drop-copy"
accounts = ["ACC1"]
username = "client1"            # optional: Logon 553/554 must match when set
password = "s3cret"
```

Errors name the file, the key and the value.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ROLES = ("order-entry", "drop-copy")


class ConfigError(ValueError):
    """A sessions file that cannot be used; the message names file, key and value."""


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """One FIX session, seen from our side (``sender_comp_id`` is us)."""

    sender_comp_id: str
    target_comp_id: str
    begin_string: str = "FIX.4.4"
    role: str = "order-entry"
    accounts: tuple[str, ...] = ()
    username: str | None = None
    password: str | None = None
    heartbeat_s: int = 30
    # Logon with 141=Y is always honoured; this also resets on every logon (QuickFIX ResetOnLogon).
    reset_on_logon: bool = False
    # SendingTime must lie within this many seconds of our clock; 0 turns the check off.
    sending_time_tolerance_s: int = 120
    # How long to wait for the peer's Logout reply, and for a Logon after connecting (timer clock).
    logout_timeout_s: float = 2.0
    logon_timeout_s: float = 10.0
    validate: bool = True
    max_body: int = 1 << 20
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.sender_comp_id, self.target_comp_id)

    def counterpart(self) -> SessionSettings:
        """The same session seen from the peer's side (comp ids swapped): what an initiator uses."""
        return replace(self, sender_comp_id=self.target_comp_id, target_comp_id=self.sender_comp_id)


@dataclass(frozen=True, slots=True)
class SessionsConfig:
    sessions: tuple[SessionSettings, ...]
    source: str = "<memory>"

    def find(self, sender_comp_id: str, target_comp_id: str) -> SessionSettings | None:
        """The session whose our-side ids are (sender, target), or None."""
        for s in self.sessions:
            if s.sender_comp_id == sender_comp_id and s.target_comp_id == target_comp_id:
                return s
        return None

    def for_account(self, account: str) -> list[SessionSettings]:
        return [s for s in self.sessions if account in s.accounts]


_TYPES: dict[str, type | tuple[type, ...]] = {
    "sender_comp_id": str,
    "target_comp_id": str,
    "begin_string": str,
    "role": str,
    "accounts": list,
    "username": str,
    "password": str,
    "heartbeat_s": int,
    "reset_on_logon": bool,
    "sending_time_tolerance_s": int,
    "logout_timeout_s": (int, float),
    "logon_timeout_s": (int, float),
    "validate": bool,
    "max_body": int,
}


def _settings(raw: dict[str, Any], where: str) -> SessionSettings:
    known = {f.name for f in fields(SessionSettings)} - {"extra"}
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            extra[key] = value
            continue
        want = _TYPES[key]
        # bool is an int in Python; a heartbeat of `true` is still a mistake.
        if not isinstance(value, want) or (isinstance(value, bool) and want is not bool):
            raise ConfigError(f"{where}.{key}: {value!r} is not a {getattr(want, '__name__', 'number')}")
        kwargs[key] = value
    for key in ("sender_comp_id", "target_comp_id"):
        if not kwargs.get(key):
            raise ConfigError(f"{where}.{key}: missing")
    if "accounts" in kwargs:
        accounts = kwargs["accounts"]
        if not all(isinstance(a, str) and a for a in accounts):
            raise ConfigError(f"{where}.accounts: {accounts!r} must be a list of non-empty strings")
        kwargs["accounts"] = tuple(accounts)
    role = kwargs.get("role", "order-entry")
    if role not in ROLES:
        raise ConfigError(f"{where}.role: {role!r} is not one of {', '.join(ROLES)}")
    if kwargs.get("heartbeat_s", 30) <= 0:
        raise ConfigError(f"{where}.heartbeat_s: {kwargs['heartbeat_s']!r} must be positive")
    if kwargs.get("sending_time_tolerance_s", 120) < 0:
        raise ConfigError(f"{where}.sending_time_tolerance_s: must not be negative")
    if ("username" in kwargs) != ("password" in kwargs):
        raise ConfigError(f"{where}: username and password go together")
    return SessionSettings(**kwargs, extra=extra)


def parse_sessions(data: dict[str, Any], source: str = "<memory>") -> SessionsConfig:
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ConfigError(f"{source}: defaults: must be a table")
    raw = data.get("session", [])
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{source}: session: at least one [[session]] table is required")
    sessions: list[SessionSettings] = []
    seen: set[tuple[str, str]] = set()
    for i, entry in enumerate(raw):
        where = f"{source}: session[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: must be a table")
        s = _settings({**defaults, **entry}, where)
        if s.key in seen:
            raise ConfigError(f"{where}: CompID pair {s.sender_comp_id}->{s.target_comp_id} is listed twice")
        seen.add(s.key)
        sessions.append(s)
    return SessionsConfig(tuple(sessions), source)


def load_sessions(path: Path) -> SessionsConfig:
    """The sessions in a TOML file; ``ConfigError`` names the file, the key and the value."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror})") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from e
    return parse_sessions(data, str(path))
