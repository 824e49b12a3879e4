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


_GOT = {"str": str, "int": int, "bool": bool, "array": list, "object": dict, "float": float}


def _matches(value: Any, rest: list[str], what: str) -> bool:
    """Whether the error ``what`` at path ``rest`` below ``value`` can be this entry's."""
    for part in rest:
        if part.startswith("["):
            if not isinstance(value, list) or int(part[1:-1]) >= len(value):
                return False
            value = value[int(part[1:-1])]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return False
    unknown = re.search(r"unknown field `([^`]*)`", what)
    if unknown:
        return isinstance(value, dict) and unknown.group(1) in value
    got = re.search(r"got `(\w+)`", what)
    kind = _GOT.get(got.group(1)) if got else None
    return kind is None or isinstance(value, kind)


def _resolve(data: Any, where: str, what: str) -> str:
    """msgspec writes map keys as ``[...]``: find the (first, in sorted order) key that fits."""
    parts = re.findall(r"\.([^.\[]+)|(\[\d+\]|\[\.\.\.\])", where)
    segs = [a or b for a, b in parts]
    out: list[str] = []
    cur = data
    for i, seg in enumerate(segs):
        if seg == "[...]":
            keys = sorted(cur) if isinstance(cur, dict) else []
            hit = next((k for k in keys if _matches(cur[k], segs[i + 1 :], what)), None)
            if hit is None:
                break
            out.append(str(hit))
            cur = cur[hit]
        elif seg.startswith("["):
            out.append(seg)
            cur = cur[int(seg[1:-1])] if isinstance(cur, list) else None
        else:
            out.append(seg)
            cur = cur.get(seg) if isinstance(cur, dict) else None
    return ".".join(out).replace(".[", "[")


def convert(data: Any, kind: type[T], *, source: str, prefix: str, values: bool = True) -> T:
    """``data`` (a parsed TOML table found at ``prefix``) as ``kind``; ConfigError names the key,
    and its value unless ``values`` is False (a file of secrets)."""
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
            raise ConfigError(f"{source}: {prefix + ': ' if prefix else ''}{msg}") from None
        what = msg[: m.start()]
        path = _resolve(data, m.group(1), what)
        value = _lookup(data, path)
        key = ".".join(k for k in (prefix, path) if k)  # prefix "": the file's top level
        shown = "" if value is None or not values else f" = {value!r}"
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
