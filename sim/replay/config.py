"""The run's configuration, recovered from its log, and what-if overrides applied to it.

``TradingSystem.start`` logs ``RunStarted`` then ``RunConfigured`` (the canonical ``SystemConfig``).
Overrides are dotted paths into the configuration as plain data: ``risk.accounts.ACC-1.max_order_qty=500``
or ``instruments.XTKS:7203.lot_size=1`` (tuples of structs with an ``id`` are addressed by id).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from msgspec import inspect as mi

from sim.replay.errors import ReplayError
from system.bootstrap import RunConfigured, SystemConfig
from system.eventlog.store import EventStore
from system.pricing.config import PricingConfig, parse_pricing
from system.pricing.tomlfile import ConfigError, convert
from system.risk.config import RiskConfig, parse_risk
from system.runtime import RunStarted

_HEAD = 8  # the manifest and configuration are among the first entries


def recorded_manifest(store: EventStore) -> tuple[RunStarted | None, RunConfigured | None]:
    started: RunStarted | None = None
    configured: RunConfigured | None = None
    for ev in store.read(1, _HEAD):
        if isinstance(ev.record, RunStarted) and started is None:
            started = ev.record
        elif isinstance(ev.record, RunConfigured) and configured is None:
            configured = ev.record
    return started, configured


def recorded_config(store: EventStore) -> SystemConfig:
    """The ``SystemConfig`` the run was made with. A log written before ``RunConfigured`` existed
    replays with the defaults (instruments come from its ``ListInstrument`` commands anyway)."""
    _, configured = recorded_manifest(store)
    if configured is None:
        return SystemConfig()
    try:
        return configured.system_config()
    except msgspec.DecodeError as e:
        raise ReplayError(f"the logged RunConfigured does not decode as a SystemConfig: {e}") from None


# SystemConfig's ``risk`` and ``pricing`` are ``Any`` (their packages are optional plugins), so
# what-if overrides are checked against the schemas and validators of the packages themselves.
_SECTIONS: dict[str, tuple[type, Callable[[dict[str, Any], str], Any]]] = {
    "risk": (RiskConfig, parse_risk),
    "pricing": (PricingConfig, parse_pricing),
}


def _parse_value(text: str) -> Any:
    """A TOML value (500, true, "x", [1, 2]); anything else stays a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _plain(t: mi.Type) -> mi.Type:
    """``X | None`` as ``X`` (where the schema allows a value, None aside)."""
    if isinstance(t, mi.UnionType):
        rest = [x for x in t.types if not isinstance(x, mi.NoneType)]
        if len(rest) == 1:
            return rest[0]
    return t


def _accepts(t: mi.Type, kind: type[mi.Type]) -> bool:
    return any(isinstance(x, kind) for x in (t.types if isinstance(t, mi.UnionType) else (t,)))


def _keys(t: mi.StructType) -> list[str]:
    return sorted(f.encode_name for f in t.fields)


def _field_type(path: list[str], full: str) -> mi.Type:
    """The schema type at ``path`` in a SystemConfig; ReplayError names the first key that is
    not in the schema, and which keys are."""
    t: mi.Type = mi.type_info(SystemConfig)
    for i, key in enumerate(path):
        where = ".".join(path[:i]) or "the configuration"
        t = _plain(t)
        if isinstance(t, mi.StructType):
            fields = {f.encode_name: f for f in t.fields}
            if key not in fields:
                raise ReplayError(f"{full}: {where} has no key {key!r} (its keys: {', '.join(_keys(t))})")
            t = mi.type_info(_SECTIONS[key][0]) if i == 0 and key in _SECTIONS else fields[key].type
        elif isinstance(t, mi.DictType | mi.FrozenDictType):
            t = t.value_type
        elif isinstance(t, mi.ListType | mi.VarTupleType):
            t = t.item_type  # the item itself is found by id or index when the value is set
        elif isinstance(t, mi.TupleType) and key.isdigit() and int(key) < len(t.item_types):
            t = t.item_types[int(key)]
        else:
            raise ReplayError(f"{full}: {where} is a single value; it has no key {key!r}")
    return t


def _typed(raw: str, t: mi.Type) -> Any:
    """VALUE as the schema at its path wants it: a number typed where the schema wants a string
    (risk amounts are decimal strings: ``max_order_qty=500``) stays the text typed."""
    value = _parse_value(raw)
    plain = _plain(t)
    allowed = (
        [m.value for m in plain.cls]
        if isinstance(plain, mi.EnumType)
        else list(plain.values)
        if isinstance(plain, mi.LiteralType)
        else None
    )
    if allowed is not None and value not in allowed:
        raise ReplayError(f"{raw!r} is not one of {', '.join(map(str, allowed))}")
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and _accepts(t, mi.StrType)
        and not _accepts(t, mi.IntType)
    ):
        return raw
    return value


def _check_keys(data: Any, t: mi.Type, prefix: str, source: str) -> None:
    """Every key of a --config table is one the schema has (else ReplayError naming it)."""
    t = _plain(t)
    if not isinstance(data, dict):
        return
    if isinstance(t, mi.StructType):
        fields = {f.encode_name: f for f in t.fields}
        for k, v in data.items():
            key = f"{prefix}.{k}" if prefix else k
            if k not in fields:
                raise ReplayError(
                    f"{source}: {key}: no such key in {prefix or 'the configuration'} "
                    f"(its keys: {', '.join(_keys(t))})"
                )
            sub = mi.type_info(_SECTIONS[k][0]) if not prefix and k in _SECTIONS else fields[k].type
            _check_keys(v, sub, key, source)
    elif isinstance(t, mi.DictType | mi.FrozenDictType):
        for k, v in data.items():
            _check_keys(v, t.value_type, f"{prefix}.{k}", source)


def _set_path(data: Any, path: list[str], value: Any, full: str) -> Any:
    if not path:
        return value
    key, rest = path[0], path[1:]
    if isinstance(data, dict):
        new = dict(data)
        new[key] = _set_path(data.get(key, {} if rest else None), rest, value, full)
        return new
    if isinstance(data, list | tuple):
        for i, item in enumerate(data):
            if isinstance(item, dict) and item.get("id") == key:
                new_list = list(data)
                new_list[i] = _set_path(item, rest, value, full)
                return new_list
        if key.isdigit() and int(key) < len(data):
            new_list = list(data)
            new_list[int(key)] = _set_path(data[int(key)], rest, value, full)
            return new_list
        ids = [str(x["id"]) for x in data if isinstance(x, dict) and "id" in x]
        known = f" (ids: {', '.join(ids)})" if ids else f" ({len(data)} items, numbered from 0)"
        raise ReplayError(f"{full}: no item {key!r} in that list{known}")
    if data is None and rest == []:
        return {key: value}
    if data is None:
        return {key: _set_path(None, rest, value, full)}
    raise ReplayError(f"{full}: {key!r} is inside a value that is not a table ({data!r})")


def override(config: SystemConfig, sets: list[str] = (), file: str | Path | None = None) -> SystemConfig:  # type: ignore[assignment]
    """``config`` with a TOML file's tables merged in and then each ``path=value`` applied.

    Both are checked against the configuration's schema: an unknown key, a value of the wrong
    type or one its section's validator refuses (a negative limit, ``abc`` for an amount) is a
    ``ReplayError`` naming the key, the value and what is allowed."""
    data: Any = msgspec.json.decode(msgspec.json.encode(config))  # plain dicts and lists
    if file is not None:
        try:
            extra = tomllib.loads(Path(file).read_text())
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ReplayError(f"--config {file}: {e}") from None
        _check_keys(extra, mi.type_info(SystemConfig), "", f"--config {file}")
        data = _merge(data, extra)
    for item in sets:
        path, eq, raw = item.partition("=")
        keys = path.strip().split(".")
        if not eq or not path.strip() or not all(keys):
            raise ReplayError(
                f"--set {item!r} is not PATH=VALUE (e.g. risk.accounts.ACC-1.max_order_qty=500)"
            )
        t = _field_type(keys, f"--set {item}")
        try:
            value = _typed(raw.strip(), t)
        except ReplayError as e:
            raise ReplayError(f"--set {item}: {e}") from None
        data = _set_path(data, keys, value, f"--set {item}")
    source = " ".join(([f"--config {file}"] if file is not None else []) + [f"--set {x}" for x in sets])
    return _checked(data, source or "the configuration")


def _checked(data: dict[str, Any], source: str) -> SystemConfig:
    """``data`` as a SystemConfig, each section through its own parser and validator."""
    try:
        for name, (_, parse) in _SECTIONS.items():
            section = data.get(name)
            if section is not None:
                if not isinstance(section, dict):
                    raise ConfigError(f"{source}: {name} = {section!r}: must be a table")
                parse(section, source)
        cfg = convert(data, SystemConfig, source=source, prefix="config")
    except ConfigError as e:
        raise ReplayError(str(e)) from None
    for inst in cfg.instruments:
        problem = inst.problem()
        if problem is not None:
            raise ReplayError(f"{source}: {problem}")
    return cfg


def _merge(base: Any, extra: Any) -> Any:
    if isinstance(base, dict) and isinstance(extra, dict):
        out = dict(base)
        for k, v in extra.items():
            out[k] = _merge(base.get(k), v)
        return out
    return extra
