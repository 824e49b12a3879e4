"""What a fleet worker runs: simulate one day into its log, re-run one log, verify one log.

Each function takes plain, picklable arguments and returns a small msgspec record, so it runs the
same in this process, in a LocalCluster worker or on a remote Dask worker. Logs are written under
``.partial/`` and moved into place only when complete (chronex.fleet.atomic).
"""

from __future__ import annotations

import itertools
import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

from chronex.fleet.atomic import discard, partial_path, publish, write_text
from chronex.fleet.plan import DayTask
from sim.markets import simulated_day
from sim.markets.stats import BookSample
from system.clock import FixedClock
from system.engine import qty_to_decimal

NS_PER_MINUTE = 60_000_000_000


class InstrumentStats(msgspec.Struct, frozen=True):
    instrument: str
    trades: int
    volume: str  # decimal quantity
    volatility_pct: float | None  # realised, from one-minute mid returns over the day
    spread_ticks: float | None  # mean touch spread in continuous trading


class DayResult(msgspec.Struct, frozen=True):
    log: str  # file name inside the fleet folder
    venue: str
    date: str
    seed: int  # the fleet's seed
    run_seed: int  # the simulator's (`chronex sim --date DATE --seed RUN_SEED` gives this log)
    events: int
    head_hash: str
    fingerprint: str
    wall_seconds: float
    instruments: tuple[InstrumentStats, ...] = ()
    cpu_seconds: float = 0.0  # the worker process's CPU time for the day (wall / cpu: contention)


def sidecar(log: Path) -> Path:
    """The finished day's result, beside its log: what resume and the manifest read."""
    return log.with_suffix(".json")


def simulate_day(task: DayTask, out_dir: str) -> DayResult:
    """Run ``task`` into ``<out_dir>/<task.log_name>`` and return its head hash and statistics."""
    out = Path(out_dir)
    final = out / task.log_name
    tmp = partial_path(out, task.log_name)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    day = simulated_day(
        task.venue,
        task.trade_date,
        instruments=task.instruments or None,
        seed=task.run_seed,
        log=str(tmp),
        start_ns=task.start_ns,
        until_ns=task.until_ns,
        activity=task.activity,
        risk=task.risk,
        pricing=task.pricing,
    )
    try:
        # Sampling only reads the book (no command, no draw from the seeded RNG): the log is the
        # one `chronex sim` writes for the same day and seed.
        sampler = day.simulator.sample_books(every_s=task.sample_every_s)
        day.run()
        day.world.runtime.flush()
        stats = tuple(_instrument_stats(day, iid, sampler.samples) for iid in day.profile.ids)
        day.finish()  # RunFinished: the log says its run ended, as `chronex sim` writes it
        head = day.world.store.head()
    finally:
        day.close()
    publish(tmp, final)
    result = DayResult(
        log=task.log_name,
        venue=task.venue_name,
        date=task.trade_date.isoformat(),
        seed=task.seed,
        run_seed=task.run_seed,
        events=head.seq,
        head_hash=head.hash.hex(),
        fingerprint=task.fingerprint,
        wall_seconds=round(time.perf_counter() - wall0, 3),
        instruments=stats,
        cpu_seconds=round(time.process_time() - cpu0, 3),
    )
    write_text(sidecar(final), msgspec.json.encode(result).decode())
    return result


def _instrument_stats(day: Any, iid: str, samples: list[BookSample]) -> InstrumentStats:
    d = day.simulator.stats.day(iid)
    inst = day.profile.spec(iid).instrument
    mine = [s for s in samples if s.instrument == iid]
    spreads = [s.spread_ticks for s in mine if s.spread_ticks is not None]
    minute_mid: dict[int, float] = {}
    for s in mine:
        if s.bid is not None and s.ask is not None:
            minute_mid[s.t // NS_PER_MINUTE] = (s.bid + s.ask) / 2  # the minute's last mid
    mids = [minute_mid[m] for m in sorted(minute_mid)]
    rets = [math.log(b / a) for a, b in itertools.pairwise(mids) if a > 0 and b > 0]
    vol = statistics.stdev(rets) * math.sqrt(len(rets)) * 100 if len(rets) >= 2 else None
    return InstrumentStats(
        instrument=iid,
        trades=d.trades,
        volume=str(qty_to_decimal(inst, d.volume)),
        volatility_pct=None if vol is None else round(vol, 4),
        spread_ticks=round(statistics.fmean(spreads), 4) if spreads else None,
    )


class RerunOutcome(msgspec.Struct, frozen=True):
    log: str
    same: bool
    original_head: str
    rerun_head: str
    events: int
    commands: int
    failed: int
    divergence_seq: int | None = None
    original_type: str | None = None  # the entry types at the first divergence
    rerun_type: str | None = None
    error: str | None = None


def rerun_log(path: str, sets: list[str], config_file: str | None, out_dir: str | None) -> RerunOutcome:
    """Re-run one log's inputs through this build (with what-if overrides) and compare."""
    from sim.replay import ReplayError, override, recorded_config, rerun
    from system.eventlog import LogCorrupted, open_log

    name = Path(path).name
    store = open_log(path, FixedClock(0), create=False)
    scratch: tempfile.TemporaryDirectory[str] | None = None
    if out_dir is not None:
        tmp = partial_path(Path(out_dir), name)
    else:
        scratch = tempfile.TemporaryDirectory(prefix="chronex-rerun-")
        tmp = Path(scratch.name) / name
    try:
        try:
            cfg = recorded_config(store)
            if sets or config_file:
                cfg = override(cfg, sets, config_file)
            new = open_log(str(tmp), FixedClock(0))
            try:
                res = rerun(store, new, config=cfg)
            finally:
                new.close()
        except (ReplayError, LogCorrupted) as e:
            return RerunOutcome(name, False, "", "", 0, 0, 0, error=str(e))
        if out_dir is not None:
            publish(tmp, Path(out_dir) / name)
        d = res.divergence
        return RerunOutcome(
            log=name,
            same=res.same,
            original_head=res.original_head[1],
            rerun_head=res.rerun_head[1],
            events=res.rerun_head[0],
            commands=res.commands,
            failed=len(res.failed),
            divergence_seq=None if d is None else d.seq,
            original_type=None if d is None or d.original is None else d.original["type"],
            rerun_type=None if d is None or d.rerun is None else d.rerun["type"],
        )
    finally:
        store.close()
        if scratch is not None:
            scratch.cleanup()
        elif out_dir is not None:
            discard(tmp)


class VerifyOutcome(msgspec.Struct, frozen=True):
    log: str
    ok: bool
    events: int
    head_hash: str
    problem: str | None = None


def verify_log(path: str, expected_head: str | None) -> VerifyOutcome:
    """Walk one log's hash chain; with ``expected_head`` (from the manifest) also catch a log
    cut short or swapped, which the chain alone cannot."""
    from system.eventlog import open_log, verify

    name = Path(path).name
    store = open_log(path, FixedClock(0), create=False)
    try:
        v = verify(store)
    finally:
        store.close()
    if not v.ok:
        return VerifyOutcome(name, False, v.count, v.head_hash.hex(), f"bad at seq {v.bad_seq}: {v.problem}")
    if expected_head is not None and v.head_hash.hex() != expected_head:
        return VerifyOutcome(
            name, False, v.count, v.head_hash.hex(),
            f"head {v.head_hash.hex()[:16]} is not the manifest's {expected_head[:16]}",
        )  # fmt: skip
    return VerifyOutcome(name, True, v.count, v.head_hash.hex())
