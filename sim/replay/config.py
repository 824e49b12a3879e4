"""The run's configuration, recovered from its log, and what-if overrides applied to it.

``TradingSystem.start`` logs ``RunStarted`` then ``RunConfigured`` (the canonical ``SystemConfig``).
Overrides are dotted paths into the configuration as plain data: ``risk.accounts.ACC-1.max_order_qty=500``
or ``instruments.XTKS:7203.lot_size=1`` (tuples of structs with an ``id`` are addressed by id).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import msgspec

from sim.replay.errors import ReplayError
from system.bootstrap import RunConfigured, SystemConfig
from system.eventlog.store import EventStore
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


def _parse_value(text: str) -> Any:
    """A TOML scalar (500, true, "x", [1, 2]); anything else stays a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


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
        raise ReplayError(f"--set {full}: no item {key!r} in that list")
    if data is None and rest == []:
        return {key: value}
    if data is None:
        return {key: _set_path(None, rest, value, full)}
    raise ReplayError(f"--set {full}: {key!r} is inside a value that is not a table ({data!r})")


def override(config: SystemConfig, sets: list[str] = (), file: str | Path | None = None) -> SystemConfig:  # type: ignore[assignment]
    """``config`` with a TOML file's tables merged in and then each ``path=value`` applied."""
    data: Any = msgspec.json.decode(msgspec.json.encode(config))  # plain dicts and lists
    if file is not None:
        try:
            extra = tomllib.loads(Path(file).read_text())
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ReplayError(f"--config {file}: {e}") from None
        data = _merge(data, extra)
    for item in sets:
        path, eq, raw = item.partition("=")
        if not eq or not path.strip():
            raise ReplayError(f"--set {item!r} is not PATH=VALUE")
        data = _set_path(data, path.strip().split("."), _parse_value(raw.strip()), item)
    try:
        return msgspec.convert(data, SystemConfig)
    except msgspec.ValidationError as e:
        raise ReplayError(f"the overridden configuration is not valid: {e}") from None


def _merge(base: Any, extra: Any) -> Any:
    if isinstance(base, dict) and isinstance(extra, dict):
        out = dict(base)
        for k, v in extra.items():
            out[k] = _merge(base.get(k), v)
        return out
    return extra
