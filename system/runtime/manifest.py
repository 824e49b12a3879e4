"""The run manifest: what a recorded run was made of, stored as the log's first entry."""

from __future__ import annotations

import hashlib
from importlib import metadata

from system.eventlog.codec import canonical
from system.eventlog.records import Event


class RunStarted(Event, frozen=True):
    """A run began: its seed, the code and data it ran on, and its configuration's hash."""

    seed: int
    code_version: str
    config_hash: str
    calendar_version: str
    start_time: int
    label: str = ""

    def stream(self) -> str:
        return "run"


class RunFinished(Event, frozen=True):
    """A run ended cleanly: the log's last entry, counting what came before it (``entries`` log
    entries, of which ``commands`` commands). A log without it is incomplete: the run that wrote
    it crashed, was killed or is still going."""

    entries: int
    commands: int

    def stream(self) -> str:
        return "run"


def code_version() -> str:
    try:
        return metadata.version("chronex")
    except metadata.PackageNotFoundError:  # running from a source tree without install
        return "0+unknown"


def calendar_version() -> str:
    try:
        return "exchange_calendars " + metadata.version("exchange_calendars")
    except metadata.PackageNotFoundError:
        return "none"


def config_hash(config: object) -> str:
    """sha256 of the canonical encoding of a configuration (any msgspec-encodable value)."""
    return hashlib.sha256(canonical(config)).hexdigest()


def manifest(seed: int, config: object, start_time: int, label: str = "") -> RunStarted:
    return RunStarted(seed, code_version(), config_hash(config), calendar_version(), start_time, label)
