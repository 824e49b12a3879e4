"""The sessions file of an external target: who it is, our FIX session with it, the oracle's
tolerances. Errors name the file, the key and the value (``ConfigError``).

```toml
[target]
external = true                 # required: these sessions reach a system outside Chronex
name = "acme-matching-uat"      # its identity in the run manifest
host = "127.0.0.1"              # --target HOST:PORT overrides both
port = 9878
control = "127.0.0.1:7001"      # optional, a Chronex mock's admin channel: reset and clock only

[oracle]
enabled = false                 # --oracle turns it on as well
ignore = ["reason"]             # observation fields left out of the comparison
clock_skew_ms = 5               # timing window; absent: times are not compared
reply_wait_ms = 300             # quiet time that ends a reply
accounts = { alice = "ACC1" }   # scenario account -> the target's account

[[session]]                     # our side first: we are the initiator
sender_comp_id = "QA"
target_comp_id = "ACME"
```
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from system.gateways.fix.config import ConfigError, SessionSettings, parse_sessions
from system.oracle.compare import FIELDS, Tolerances


@dataclass(frozen=True)
class TargetConfig:
    name: str
    host: str
    port: int
    session: SessionSettings
    control: tuple[str, int] | None
    oracle: bool
    tolerances: Tolerances
    reply_wait_s: float
    source: str
    sha256: str


def address(text: str, what: str) -> tuple[str, int]:
    """``HOST:PORT`` -> (host, port); ValueError naming ``what`` and the value."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{what} {text!r} is not HOST:PORT")
    return host or "127.0.0.1", int(port)


def read_toml(path: Path) -> tuple[bytes, dict[str, Any]]:
    """A target file's bytes (its hash goes in the run's manifest) and its parsed tables."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror})") from None
    try:
        return raw, tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None


def control_of(t: dict[str, Any], src: str) -> tuple[str, int] | None:
    """A target's ``control`` address (a Chronex mock's admin channel), None when it has none."""
    if "control" not in t:
        return None
    try:
        return address(str(t["control"]), "target.control")
    except ValueError as e:
        raise ConfigError(f"{src}: {e}") from None


def load_target(path: Path, *, target: str | None = None, oracle: bool = False) -> TargetConfig:
    """The target a sessions file names (``target`` HOST:PORT overrides its address)."""
    src = str(path)
    raw, data = read_toml(path)
    t = table(data, "target", src)
    if t.get("external") is not True:
        raise ConfigError(
            f"{src}: target.external: {t.get('external')!r}; a sessions file for an outside system "
            "says [target] external = true"
        )
    sessions = parse_sessions({k: v for k, v in data.items() if k in ("defaults", "session")}, src).sessions
    if len(sessions) != 1:
        raise ConfigError(
            f"{src}: session: name exactly one [[session]] (ours to the target), not {len(sessions)}"
        )
    o = table(data, "oracle", src)
    host = t.get("host", "127.0.0.1")
    port = t.get("port")
    if target is not None:
        host, port = address(target, "--target")
    if (
        not isinstance(host, str)
        or not isinstance(port, int)
        or isinstance(port, bool)
        or not 0 < port < 65536
    ):
        raise ConfigError(f"{src}: target.port: {port!r} is not a port (or give --target HOST:PORT)")
    control = control_of(t, src)
    enabled, tolerances, wait = oracle_settings(o, src)
    name = t.get("name", f"{host}:{port}")
    return TargetConfig(
        name=str(name),
        host=host,
        port=port,
        session=sessions[0],
        control=control,
        oracle=oracle or enabled,
        tolerances=tolerances,
        reply_wait_s=wait,
        source=src,
        sha256=hashlib.sha256(raw).hexdigest(),
    )


def oracle_settings(o: dict[str, Any], src: str) -> tuple[bool, Tolerances, float]:
    """The ``[oracle]`` table: (enabled, tolerances, reply wait in s); errors name key and value."""
    ignore = o.get("ignore", [])
    if not isinstance(ignore, list) or any(i not in FIELDS for i in ignore):
        raise ConfigError(f"{src}: oracle.ignore: {ignore!r} (fields: {', '.join(FIELDS)})")
    skew = o.get("clock_skew_ms")
    if skew is not None and (not isinstance(skew, int | float) or isinstance(skew, bool) or skew < 0):
        raise ConfigError(f"{src}: oracle.clock_skew_ms: {skew!r} is not a non-negative number")
    wait = o.get("reply_wait_ms", 300)
    if not isinstance(wait, int | float) or isinstance(wait, bool) or wait <= 0:
        raise ConfigError(f"{src}: oracle.reply_wait_ms: {wait!r} is not a positive number")
    accounts = o.get("accounts", {})
    if not isinstance(accounts, dict) or not all(isinstance(v, str) for v in accounts.values()):
        raise ConfigError(f"{src}: oracle.accounts: {accounts!r} is not a table of account names")
    enabled = o.get("enabled", False)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{src}: oracle.enabled: {enabled!r} is not true or false")
    return (
        enabled,
        Tolerances(
            ignore=frozenset(ignore),
            accounts=dict(accounts),
            clock_skew_ns=None if skew is None else int(skew * 1_000_000),
        ),
        float(wait) / 1000,
    )


def table(data: dict[str, Any], key: str, src: str) -> dict[str, Any]:
    t = data.get(key, {})
    if not isinstance(t, dict):
        raise ConfigError(f"{src}: {key}: must be a table")
    return t


__all__ = ["ConfigError", "TargetConfig", "address", "load_target", "oracle_settings", "table"]
