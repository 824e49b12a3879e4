"""What shapes a run (``SystemConfig``) and the record that logs it (``RunConfigured``).

Kept apart from the composition root so the engines it composes (risk, pricing, corrections) can
name the configuration without importing the root that imports them.
"""

from __future__ import annotations

from typing import Any

import msgspec

from system.engine.phases import Phase
from system.engine.refdata import Instrument
from system.eventlog.records import Event


class SystemConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Everything that shapes a run's behaviour; its hash goes into the run manifest.

    ``risk``, ``pricing`` and ``hedging`` are the parsed configurations of those engines (None: not
    running).
    """

    seed: int = 0
    instruments: tuple[Instrument, ...] = ()
    venues: tuple[str, ...] = ()
    default_phase: Phase = Phase.CONTINUOUS
    risk: Any = None
    pricing: Any = None
    # UNSET, not None: an unset field is left out of the encoding, so a run without hedging logs
    # the same bytes (and config hash) as before the field existed.
    hedging: Any = msgspec.UNSET
    snapshot_every: int = 0
    label: str = ""


class RunConfigured(Event, frozen=True):
    """The run's whole ``SystemConfig`` (its canonical msgpack), logged right after ``RunStarted``
    so a replay, re-run or rebase can rebuild exactly this system from the log alone."""

    config: bytes

    def stream(self) -> str:
        return "run"

    def system_config(self) -> SystemConfig:
        """The configuration back (``risk``/``pricing`` come back as plain msgpack values)."""
        return msgspec.msgpack.decode(self.config, type=SystemConfig)
