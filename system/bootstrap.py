"""The composition root of the trading system: which components, projections and record types a
build has, in which order, over which log.

It imports every engine it composes (nothing registers itself by being imported), so whoever
imports it (the CLI, the simulator, the replayer, the steps) sees the same system and a record
registry complete for any log this build can write.
"""

from __future__ import annotations

import importlib
from typing import Any

from system.clock import Clock
from system.corrections import Corrections
from system.engine import ListInstrument, MatchingEngine
from system.engine.deviations import REFERENCE, Rules
from system.engine.marketdata import MarketData
from system.eventlog.codec import canonical
from system.eventlog.records import record_types
from system.eventlog.store import EventStore
from system.hedging import Hedger, as_hedging_config
from system.pricing import MarksProjection, Pricing, as_pricing_config, bar_projection
from system.risk import AccountsProjection, Risk, as_risk_config
from system.runconfig import RunConfigured, SystemConfig
from system.runtime import Component, Outcome, Projection, RunStarted, Runtime, manifest
from system.runtime.manifest import RunFinished, config_hash

__all__ = [
    "RECORD_MODULES",
    "RunConfigured",
    "RunFinished",
    "SystemConfig",
    "TradingSystem",
    "build_components",
    "build_projections",
    "record_catalogue",
]


# The build: every component, projection and record type, named here and nowhere else. Handlers
# run in component order, so pre-trade risk sits before the matching engine and post-trade
# components after it; an engine whose configuration is None is left out of the run.


def build_components(config: SystemConfig, rules: Rules = REFERENCE) -> list[Component]:
    comps: list[Component] = []
    risk = as_risk_config(config.risk)
    if risk is not None:
        comps.append(Risk(risk))
    # Instruments arrive as ListInstrument commands, so the log alone rebuilds the engine.
    comps.append(MatchingEngine(default_phase=config.default_phase, rules=rules))
    pricing = as_pricing_config(config.pricing)
    if pricing is not None:
        comps.append(Pricing(pricing))
    comps.append(Corrections())
    hedging = as_hedging_config(config.hedging)
    if hedging is not None:
        comps.append(Hedger(hedging))  # last: it decides on fills, marks and the kill switch
    return comps


def build_projections(config: SystemConfig) -> list[Projection]:
    out: list[Projection] = []
    risk = as_risk_config(config.risk)
    if risk is not None:
        out.append(AccountsProjection(risk))
    pricing = as_pricing_config(config.pricing)
    if pricing is not None:
        out += [MarksProjection(pricing.fx_pivots), bar_projection(pricing)]
    out.append(MarketData())
    return out


# Every module that defines a record a build can write, test-only ones included (scenario logs
# keep them). Importing this module imports them all, so the record registry is complete; the
# registry imports this module itself when it meets a name it does not know.
RECORD_MODULES: tuple[str, ...] = (
    "system.runtime.manifest",
    "system.runconfig",
    "system.engine.commands",
    "system.engine.events",
    "system.engine.phases",
    "system.engine.testkit",
    "system.risk.events",
    "system.pricing.events",
    "system.corrections",
    "system.hedging.events",
    "system.traffic",
    "system.ingest.records",
    "system.oracle.records",
)


for _module in RECORD_MODULES:
    importlib.import_module(_module)


def record_catalogue() -> dict[str, str]:
    """Every record type of this build: name -> defining module."""
    return {name: rt.cls.__module__ for name, rt in record_types().items()}


class TradingSystem:
    """The runtime with its components and read models, over one log and one clock."""

    def __init__(
        self,
        config: SystemConfig,
        store: EventStore,
        clock: Clock,
        *,
        warm_start: bool = False,
        rules: Rules = REFERENCE,
    ) -> None:
        self.config = config
        self.rules = rules  # REFERENCE but in a served mock with deliberate differences
        self.store = store
        self.clock = clock
        self.projections = build_projections(config)
        self.runtime = Runtime(
            store,
            clock,
            lambda: build_components(config, rules),
            projections=self.projections,
            snapshot_every=config.snapshot_every,
            warm_start=warm_start,
        )
        # The runtime's own method, bound once: a wrapper's frame per command cost ~1% of the path.
        self.execute = self.runtime.execute  # type: ignore[method-assign]
        for p in self.projections:
            follow = getattr(p, "follow", None)
            if follow is not None:
                follow(self.runtime)  # read models that mirror a component share its state

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

    def execute(self, command: Any, *, command_id: str | None = None, correlation_id: str = "") -> Outcome:
        # Shadowed in __init__ by the runtime's bound method; kept for the signature and readers.
        return self.runtime.execute(command, command_id=command_id, correlation_id=correlation_id)

    def start(self) -> None:
        """On an empty log: write the run manifest and list the configured instruments."""
        if self.store.head().seq:
            return
        self.runtime.start_run(self.manifest())
        self.runtime.record(RunConfigured(canonical(self.config)))
        for inst in self.config.instruments:
            self.runtime.execute(ListInstrument(inst))

    def finish(self) -> None:
        """End the run: append ``RunFinished`` (with its counts) after everything else, so a log
        that lacks it is known to be incomplete. Call it once, at the run's clean end."""
        self.runtime.flush()
        head = self.store.head()
        self.runtime.record(RunFinished(entries=head.seq, commands=self.runtime.commands_seen))

    def manifest(self) -> RunStarted:
        label = self.config.label + self.rules.label()
        return manifest(self.config.seed, self.config, self.clock.now_ns(), label)

    def config_hash(self) -> str:
        return config_hash(self.config)
