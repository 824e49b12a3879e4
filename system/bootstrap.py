"""The composition root of the trading system: which components run, in which order, over which log.

Command handlers run in component order, so pre-trade risk sits before the matching engine and
post-trade components after it. Tests, simulators, the BDD driver and the replayer all build the
system here, so a replay runs exactly the code a live run did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from system.clock import Clock
from system.engine import Instrument, ListInstrument, MatchingEngine, Phase
from system.eventlog.codec import canonical
from system.eventlog.records import Event
from system.eventlog.store import EventStore
from system.runtime import Component, Outcome, Projection, RunStarted, Runtime, manifest
from system.runtime.manifest import config_hash


class SystemConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Everything that shapes a run's behaviour; its hash goes into the run manifest.

    ``risk`` and ``pricing`` are the parsed configurations of those engines (None: not running).
    """

    seed: int = 0
    instruments: tuple[Instrument, ...] = ()
    venues: tuple[str, ...] = ()
    default_phase: Phase = Phase.CONTINUOUS
    risk: Any = None
    pricing: Any = None
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


# Extra component and projection factories, registered by the risk and pricing packages so this
# module does not import them (and they can be left out of a minimal build).
ComponentFactory = Callable[[SystemConfig], list[Component]]
ProjectionFactory = Callable[[SystemConfig], list[Projection]]


@dataclass
class _Plugins:
    before_engine: list[ComponentFactory] = field(default_factory=list)
    after_engine: list[ComponentFactory] = field(default_factory=list)
    projections: list[ProjectionFactory] = field(default_factory=list)


PLUGINS = _Plugins()


def _load_plugins() -> None:
    # Importing a package registers its factories; the order here is the order in the chain.
    for mod in ("system.risk", "system.pricing", "system.corrections", "system.engine.marketdata"):
        try:
            __import__(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:
                raise


def build_components(config: SystemConfig) -> list[Component]:
    _load_plugins()
    comps: list[Component] = []
    for f in PLUGINS.before_engine:
        comps.extend(f(config))
    # Instruments arrive as ListInstrument commands, so the log alone rebuilds the engine.
    comps.append(MatchingEngine(default_phase=config.default_phase))
    for f in PLUGINS.after_engine:
        comps.extend(f(config))
    return comps


def build_projections(config: SystemConfig) -> list[Projection]:
    _load_plugins()
    out: list[Projection] = []
    for f in PLUGINS.projections:
        out.extend(f(config))
    return out


class TradingSystem:
    """The runtime with its components and read models, over one log and one clock."""

    def __init__(
        self, config: SystemConfig, store: EventStore, clock: Clock, *, warm_start: bool = False
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.projections = build_projections(config)
        self.runtime = Runtime(
            store,
            clock,
            lambda: build_components(config),
            projections=self.projections,
            snapshot_every=config.snapshot_every,
            warm_start=warm_start,
        )

    @property
    def engine(self) -> MatchingEngine:
        return self.runtime.component(MatchingEngine)  # type: ignore[no-any-return]

    def component(self, kind: type[Any]) -> Any:
        return self.runtime.component(kind)

    def projection(self, kind: type[Any]) -> Any:
        for p in self.projections:
            if isinstance(p, kind):
                return p
        raise LookupError(f"no {kind.__name__} projection in this system")

    def execute(self, command: Any, **kw: Any) -> Outcome:
        return self.runtime.execute(command, **kw)

    def start(self) -> None:
        """On an empty log: write the run manifest and list the configured instruments."""
        if self.store.head().seq:
            return
        self.runtime.start_run(self.manifest())
        self.runtime.record(RunConfigured(canonical(self.config)))
        for inst in self.config.instruments:
            self.runtime.execute(ListInstrument(inst))

    def manifest(self) -> RunStarted:
        return manifest(self.config.seed, self.config, self.clock.now_ns(), self.config.label)

    def config_hash(self) -> str:
        return config_hash(self.config)
