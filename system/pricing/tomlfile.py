"""Reading one table of a per-run TOML file into frozen msgspec Structs, with errors that name the
file, the key and the value (``config/run.toml: risk.accounts.A.max_notional = "1e6x": not a
decimal``). Floats are refused everywhere: rates are basis points, amounts decimal strings.
"""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration file (or value) that cannot be used; the message names where and what."""


def read_toml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{p}: cannot read: {e.strerror or e}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML: {e}") from None


def _floats(value: Any, where: str) -> str | None:
    """The dotted key of the first float inside ``value``, or None."""
    if isinstance(value, float):
        return where
    if isinstance(value, dict):
        for k, v in value.items():
            hit = _floats(v, f"{where}.{k}" if where else str(k))
            if hit:
                return hit
    if isinstance(value, list):
        for i, v in enumerate(value):
            hit = _floats(v, f"{where}[{i}]")
            if hit:
                return hit
    return None


def _lookup(data: Any, dotted: str) -> Any:
    cur = data
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", dotted):
        try:
            cur = cur[int(part[1:-1])] if part.startswith("[") else cur[part]
        except (KeyError, IndexError, TypeError, ValueError):
            return None
    return cur


def convert(data: Any, kind: type[T], *, source: str, prefix: str) -> T:
    """``data`` (a parsed TOML table found at ``prefix``) as ``kind``; ConfigError names the key."""
    bad = _floats(data, "")
    if bad:
        raise ConfigError(
            f"{source}: {prefix}.{bad} = {_lookup(data, bad)!r}: floats are not allowed "
            "(write basis points as an integer or an amount as a decimal string)"
        )
    try:
        return msgspec.convert(data, kind, strict=True)
    except msgspec.ValidationError as e:
        msg = str(e)
        m = re.search(r" - at `\$(.*)`$", msg)
        if m is None:
            raise ConfigError(f"{source}: {prefix}: {msg}") from None
        path = m.group(1).lstrip(".")
        path = re.sub(r"\[\"?([^\]\"]+)\"?\]", r".\1", path).lstrip(".")
        what = msg[: m.start()]
        value = _lookup(data, path)
        key = f"{prefix}.{path}" if path else prefix
        shown = "" if value is None else f" = {value!r}"
        raise ConfigError(f"{source}: {key}{shown}: {what}") from None


def decimal_of(value: str, key: str, source: str) -> Decimal:
    """A finite Decimal from a config string; ConfigError names ``key`` and the value."""
    try:
        d = Decimal(value)
    except (InvalidOperation, TypeError):
        raise ConfigError(f"{source}: {key} = {value!r}: not a decimal number") from None
    if not d.is_finite():
        raise ConfigError(f"{source}: {key} = {value!r}: not a finite number")
    return d


_DURATION = re.compile(r"^(\d+)(ns|us|ms|s|m|h)$")
_UNIT_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


def duration_ns(value: str, key: str, source: str) -> int:
    """``"500ms"``, ``"5s"``, ``"1m"``, ``"1h"`` as integer nanoseconds."""
    m = _DURATION.match(value.strip())
    if m is None:
        raise ConfigError(f"{source}: {key} = {value!r}: not a duration like 500ms, 5s, 1m or 1h")
    return int(m.group(1)) * _UNIT_NS[m.group(2)]
