"""Deterministic re-run: the recorded inputs through today's engines, into a new log, compared.

Inputs are the log's commands (user orders, simulator decisions, ``ChangePhase`` from the session
scheduler, ``ExpireDue`` from the expiry timers: all are logged commands) and its standalone facts
(``RunStarted``, ``RunConfigured``). Each command runs on a clock re-stamped to its logged time
(``ctx.now``) while the new log's clock is re-stamped to the recorded time of its batch, so an
untouched run reproduces every byte and the head hash. Outputs are never copied: they are what
the comparison checks. The first entry whose hash differs is the first divergence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from sim.replay.config import recorded_config
from system.bootstrap import RunConfigured, SystemConfig, TradingSystem
from system.clock import FixedClock
from system.engine import CancelOrder, ListInstrument, OrderAccepted, ReplaceOrder
from system.eventlog.codec import LoggedEvent, canonical
from system.eventlog.records import Record
from system.eventlog.store import EventStore
from system.runtime import CommandFailed, RunStarted
from system.runtime.manifest import RunFinished, config_hash


def entry_dict(ev: LoggedEvent) -> dict[str, Any]:
    return {
        "seq": ev.seq,
        "type": ev.type,
        "stream": ev.stream,
        "valid_time": ev.valid_time,
        "recorded_time": ev.recorded_time,
        "causation_id": ev.causation_id,
        "payload": msgspec.to_builtins(ev.record),
        "hash": ev.hash.hex(),
    }


@dataclass(frozen=True)
class Divergence:
    seq: int
    original: dict[str, Any] | None  # None: the original log ended here
    rerun: dict[str, Any] | None


@dataclass(frozen=True)
class RerunResult:
    same: bool
    original_head: tuple[int, str]
    rerun_head: tuple[int, str]
    commands: int
    failed: list[str]  # commands whose handler raised (logged nothing)
    divergence: Divergence | None


def _input_for(rec: Record, config: SystemConfig, changed: bool) -> Record:
    """The input as it goes into the re-run: with a changed configuration, listings, manifest
    and configuration records follow it (a what-if on tick tables lists the new tables)."""
    if not changed:
        return rec
    if isinstance(rec, ListInstrument):
        for inst in config.instruments:
            if inst.id == rec.instrument.id:
                return ListInstrument(inst)
    if isinstance(rec, RunConfigured):
        return RunConfigured(canonical(config))
    if isinstance(rec, RunStarted):
        return msgspec.structs.replace(rec, config_hash=config_hash(config))
    return rec


class _OrderIds:
    """A what-if re-run assigns its own order ids: once it rejects an order the original accepted
    (or the reverse), every later id shifts, and a recorded cancel or replace names another order.
    Each is sent to the order with the same (account, client order id) instead: the original's
    ``OrderAccepted`` records say which that is, the re-run's engine which id it now has. An order
    the what-if never accepted is cancelled by its client id, which the engine answers as unknown."""

    def __init__(self, system: TradingSystem) -> None:
        self._system = system  # its engine, read at each use: a failed command rebuilds it
        self._original: dict[int, tuple[str, str]] = {}  # original order id -> (account, client id)

    def learn(self, rec: Record) -> None:
        if type(rec) is OrderAccepted:
            self._original[rec.order_id] = (rec.account, rec.client_order_id)

    def route(self, rec: Record) -> Record:
        t = type(rec)
        if t is not CancelOrder and t is not ReplaceOrder:
            return rec
        oid = rec.order_id  # type: ignore[attr-defined]
        key = self._original.get(oid) if oid is not None else None
        if key is None:
            return rec  # not an order of the original run: as recorded
        now = self._system.engine.client_ids.get(key[0], {}).get(key[1])
        if now == oid:
            return rec
        if now is not None:
            return msgspec.structs.replace(rec, order_id=now)
        if t is CancelOrder:
            return msgspec.structs.replace(rec, order_id=None, client_order_id=key[1])
        return msgspec.structs.replace(rec, order_id=0)  # no order has id 0


def rerun(
    store: EventStore,
    out: EventStore,
    *,
    config: SystemConfig | None = None,
    system_clock: FixedClock | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RerunResult:
    """Re-execute ``store``'s inputs into ``out`` (an empty log whose clock is a ``FixedClock``
    the re-run drives) and compare. ``config`` overrides the recorded configuration (what-if)."""
    rec_clock = out.clock
    if not isinstance(rec_clock, FixedClock):
        raise TypeError("the re-run log must be opened on a FixedClock (it is re-stamped per batch)")
    if out.head().seq:
        raise ValueError(f"{out.url}: the re-run log must be empty")
    recorded = recorded_config(store)
    cfg = config if config is not None else recorded
    changed = canonical(cfg) != canonical(recorded)
    sys_clock = system_clock if system_clock is not None else FixedClock(0)
    system = TradingSystem(cfg, out, sys_clock)
    rt = system.runtime
    ids = _OrderIds(system) if changed else None
    total = store.head().seq
    current = None
    commands = 0
    failed: list[str] = []
    with rt.batched(1 << 30):
        for ev in store.replay(1):
            rec = ev.record
            if ids is not None:
                ids.learn(rec)  # the original's order ids, before any later command names one
            if rec.kind == "command":
                current = ev.causation_id
                if ev.recorded_time != rec_clock.t:
                    rt.flush()  # the original appended a new batch here: so do we
                    rec_clock.t = ev.recorded_time
                sys_clock.t = ev.valid_time
                commands += 1
                if ids is not None:
                    rec = ids.route(rec)
                try:
                    rt.execute(
                        _input_for(rec, cfg, changed),  # type: ignore[arg-type]
                        command_id=ev.causation_id,
                        correlation_id=ev.correlation_id,
                    )
                except CommandFailed as e:
                    failed.append(str(e))
            elif isinstance(rec, RunFinished):
                # An output, not an input: the re-run counts its own entries, at the same times.
                rt.flush()
                rec_clock.t = ev.recorded_time
                sys_clock.t = ev.valid_time
                system.finish()
            elif ev.causation_id != current or current is None:
                rt.flush()
                rec_clock.t = ev.recorded_time
                sys_clock.t = ev.valid_time
                rt.record(
                    _input_for(rec, cfg, changed),  # type: ignore[arg-type]
                    valid_time=ev.valid_time,
                    correlation_id=ev.correlation_id,
                )
                current = None
            if progress is not None and ev.seq % 50_000 == 0:
                progress(ev.seq, total)
    # An original that never finished (killed, or still being written) gets a re-run that has not
    # finished either: the same entries, the same head, and log verify says both are incomplete.
    return compare(store, out, commands=commands, failed=failed)


def compare(
    a: EventStore, b: EventStore, *, commands: int = 0, failed: list[str] | None = None
) -> RerunResult:
    ha, hb = a.head(), b.head()
    div: Divergence | None = None
    if (ha.seq, ha.hash) != (hb.seq, hb.hash):
        div = first_divergence(a, b)
    return RerunResult(
        div is None, (ha.seq, ha.hash.hex()), (hb.seq, hb.hash.hex()), commands, failed or [], div
    )


def first_divergence(a: EventStore, b: EventStore) -> Divergence | None:
    """The first seq where the two logs' entries differ (by hash: the chain makes it the first)."""
    ia, ib = a.read(1), b.read(1)
    seq = 0
    while True:
        ea, eb = next(ia, None), next(ib, None)
        seq += 1
        if ea is None and eb is None:
            return None
        if ea is None or eb is None or ea.hash != eb.hash:
            return Divergence(
                seq, None if ea is None else entry_dict(ea), None if eb is None else entry_dict(eb)
            )
