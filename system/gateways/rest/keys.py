"""API keys and their roles, read once from a TOML file (``chronex serve --api-keys keys.toml``).

    [[key]]
    key = "trader-1-secret"       # what the client sends in the X-API-Key header
    name = "alice"                 # who it is (the REST session name: rest-alice)
    role = "trader"                # trader | qa-admin | auditor
    accounts = ["ACC1", "ACC2"]    # a trader's own accounts (ignored for the other roles)

Roles:

- ``trader``: orders, queries and streams of its own accounts only; books, trades of its accounts,
  bars and calendars;
- ``qa-admin``: everything a trader may do, for any account, plus the clock, venues and the kill
  switch;
- ``auditor``: read-only over every account, the as-of state and log verification; never an order.
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from pathlib import Path

import msgspec

from system.pricing.tomlfile import ConfigError, convert


class Role(StrEnum):
    TRADER = "trader"
    QA_ADMIN = "qa-admin"
    AUDITOR = "auditor"


class ApiKey(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    key: str
    name: str
    role: Role
    accounts: tuple[str, ...] = ()

    @property
    def session(self) -> str:
        """The session its commands are scoped to (their idempotency keys live there)."""
        return f"rest-{self.name}"

    def may_see(self, account: str) -> bool:
        return self.role is not Role.TRADER or account in self.accounts


class _File(msgspec.Struct, forbid_unknown_fields=True):
    key: list[ApiKey] = msgspec.field(default_factory=list)


class KeysFileError(ValueError):
    """The keys file is missing or malformed; the message names the file and the problem."""


class KeyRing:
    """The configured keys, by key text."""

    def __init__(self, keys: list[ApiKey]) -> None:
        self._by_key: dict[str, ApiKey] = {}
        names: set[str] = set()
        for k in keys:
            if not k.key:
                raise KeysFileError(f"key {k.name!r} has an empty key")
            if k.key in self._by_key:
                raise KeysFileError(f"key of {k.name!r} is listed twice")
            if k.name in names:
                raise KeysFileError(f"name {k.name!r} is used by two keys")
            if "/" in k.name:
                raise KeysFileError(f"name {k.name!r} may not hold '/'")
            if k.role is Role.TRADER and not k.accounts:
                raise KeysFileError(f"trader {k.name!r} has no accounts")
            names.add(k.name)
            self._by_key[k.key] = k

    def get(self, key: str) -> ApiKey | None:
        return self._by_key.get(key)

    def __len__(self) -> int:
        return len(self._by_key)


def load_keys(path: str | Path, option: str = "--api-keys") -> KeyRing:
    """The file's keys; errors name ``option`` and the file (``option=""``: the file alone)."""
    p = Path(path)
    where = f"{option} {str(p)!r}" if option else str(p)
    if not p.is_file():
        raise KeysFileError(f"{where}: no such file")
    try:
        # values=False: an error must not echo a key (a secret) to the terminal or a CI log.
        parsed = convert(tomllib.loads(p.read_text()), _File, source=where, prefix="", values=False)
    except tomllib.TOMLDecodeError as e:
        raise KeysFileError(f"{where}: {e}") from None
    except ConfigError as e:
        roles = f" (a role is one of {', '.join(Role)})" if ".role: " in str(e) else ""
        raise KeysFileError(f"{e}{roles}") from None
    try:
        return KeyRing(parsed.key)
    except KeysFileError as e:
        raise KeysFileError(f"{where}: {e}") from None

