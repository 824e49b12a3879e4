"""Replayer speed: as-of latency over random instants of a ~1,000,000-event day, full replay rate.

    flock /tmp/chronex-bench.lock .venv/bin/python bench/replay.py [--risk config/risk.example.toml]
        [--log day.db] [--gap-ms 42] [--queries 200] [--every 5000] [--fresh] [--cache DIR]

Without ``--log`` it records a simulated TSE day (two instruments, four accounts, seeded
limit/cancel/crossing flow through the real system on the virtual clock; with ``--risk FILE`` the
risk and pricing engines run under that file's ``[risk]`` and ``[pricing]`` tables), busts one
trade at 15:45, and keeps it under bench/out/ (git-ignored) for the next run (``--fresh``
records it again). Each run works on a copy, so the cache is built from scratch, and reports:

- the one-time index build (a checked pass that caches snapshots every ``--every`` entries) and
  the cache's size on disk (a file of its own: the log is opened read-only and never grows);
- as-of latency p50/p99/max over ``--queries`` uniformly random valid times (half of them also
  with a random ``known_at``), each a full answer: snapshot restore + tail fold + late entries,
  each in a fresh process's shoes (the in-process snapshot cache cleared before every query),
  then the same queries again with the cache kept (the Python API and BDD steps ask many), and
  once more rebuilding only the engine (books and open orders: ``as_of(..., only={"engine"})``);
- full replay: every component folded from seq 1 with the chain checked, in events/s;
- the re-run rate (commands through today's engines into a new log), on a prefix of the day.

Target: as-of p99 <= 200 ms on the 1,000,000-event day.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.replay import as_of, ensure_index, rerun  # noqa: E402
from sim.replay.asof import DEFAULT_EVERY  # noqa: E402
from sim.replay.blobs import clear_cache  # noqa: E402
from sim.replay.cache import location  # noqa: E402
from sim.replay.synthetic import Flow, continuous_windows, day_config, run_day, tokyo  # noqa: E402
from sim.world import World  # noqa: E402
from system.clock import FixedClock  # noqa: E402
from system.corrections import BustTrade  # noqa: E402
from system.eventlog import open_log  # noqa: E402
from system.pricing import load_pricing  # noqa: E402
from system.risk import load_risk  # noqa: E402

DAY = date(2027, 1, 6)
OUT = ROOT / "bench" / "out"


def record(path: Path, gap_ms: int, risk: Path | None) -> None:
    if risk is None:
        cfg = day_config(seed=1)
    else:
        cfg = day_config(seed=1, risk=load_risk(risk), pricing=load_pricing(risk))
    world = World(cfg, start_ns=tokyo(DAY, 7), log=path, until_ns=tokyo(DAY, 16))
    flow = Flow(1, cfg.instruments, continuous_windows(DAY), mean_gap_ns=gap_ms * 1_000_000)
    t0 = time.perf_counter()
    n = run_day(world, flow, end_ns=tokyo(DAY, 15, 45), batch=1000)
    world.execute(BustTrade(trade_id=1000, reason="bench"))
    world.run_until(tokyo(DAY, 16))
    head = world.store.head().seq
    world.close()
    dt = time.perf_counter() - t0
    print(f"recorded: {n:,} commands, {head:,} entries in {dt:.1f} s ({head / dt:,.0f} entries/s)")


def recorded_day(gap_ms: int, risk: Path | None, fresh: bool) -> Path:
    """The day's log under bench/out/, recorded once per (gap, config) and reused after."""
    tag = "norisk" if risk is None else risk.stem.replace(".", "-")
    path = OUT / f"replay-day-{gap_ms}ms-{tag}.db"
    if fresh or not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(".part")
        for p in (part, path):
            p.unlink(missing_ok=True)
        record(part, gap_ms, risk)
        part.rename(path)
    else:
        print(f"recorded day: {path.relative_to(ROOT)} (reused; --fresh records it again)")
    return path


def percentiles(lat: list[float]) -> str:
    lat = sorted(lat)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    return f"p50 {statistics.median(lat):.1f} ms, p99 {p99:.1f} ms, max {lat[-1]:.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", type=Path, help="an existing log (its replay cache is used as is)")
    ap.add_argument("--risk", type=Path, help="a TOML file with [risk] and [pricing] tables")
    ap.add_argument("--fresh", action="store_true", help="record the day again")
    ap.add_argument("--gap-ms", type=int, default=42, help="mean gap between commands (42 ms: ~1M entries)")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--every", type=int, default=DEFAULT_EVERY)
    ap.add_argument("--rerun-entries", type=int, default=200_000)
    ap.add_argument("--quick", action="store_true", help="a ~100k-entry day, 20 queries (a smoke run)")
    ap.add_argument("--cache", type=Path, help="the replay cache's folder (default: beside the log)")
    args = ap.parse_args()
    if args.quick:
        args.gap_ms, args.queries, args.rerun_entries = 420, 20, 20_000
    tmp = tempfile.TemporaryDirectory(dir=OUT if OUT.exists() else None)
    path = args.log
    if path is None:
        path = Path(tmp.name) / "day.db"
        shutil.copyfile(recorded_day(args.gap_ms, args.risk, args.fresh), path)
    store = open_log(path, FixedClock(0), readonly=True)
    size = os.path.getsize(path)
    t0 = time.perf_counter()
    idx = ensure_index(store, every=args.every, cache=args.cache)
    dt = time.perf_counter() - t0
    cache_file = location(store, args.cache)
    cached = os.path.getsize(cache_file) if cache_file is not None and cache_file.exists() else 0
    assert os.path.getsize(path) == size, "the log grew: a read wrote into it"
    print(
        f"index: {idx.head_seq:,} entries, {len(idx.points)} snapshots, {len(idx.late)} late entries, "
        f"built in {dt:.1f} s; log {size / 1e6:.0f} MB (unchanged), cache {cached / 1e6:.0f} MB on disk "
        f"({cache_file})"
    )
    rng = random.Random(7)
    queries = []
    for k in range(args.queries):
        t = rng.randint(idx.first_valid, idx.last_valid)
        r = rng.randint(idx.first_recorded, idx.last_recorded) if k % 2 else None
        queries.append((t, r))
    passes = (
        ("each as a first query", True, None),
        ("one process, cache kept", False, None),
        ("books only (only={'engine'}), first query", True, {"engine"}),
    )
    for label, cold, only in passes:
        clear_cache()
        lat = []
        for t, r in queries:
            if cold:
                clear_cache()
            t0 = time.perf_counter()
            state = as_of(store, t, r, index=idx, only=only, cache=args.cache)
            lat.append((time.perf_counter() - t0) * 1000)
            del state  # freeing the answer is the caller's time, not the query's
        print(f"as-of over {len(lat)} random T (half with known_at), {label}: {percentiles(lat)}")
    t0 = time.perf_counter()
    full = as_of(store, idx.last_valid, index=idx, use_snapshots=False)
    dt = time.perf_counter() - t0
    print(f"full replay (checked chain, every component): {full.basis.seq:,} entries in {dt:.1f} s "
          f"({full.basis.seq / dt:,.0f} entries/s)")  # fmt: skip
    part = open_log("memory://", FixedClock(0))
    prefix = open_log("memory://", FixedClock(0))
    # Re-run a prefix (a memory copy of the first entries) so the figure does not need a second 1M log.
    from system.eventlog.store import NewEvent

    batch: list[NewEvent] = []
    clock = prefix.clock
    assert isinstance(clock, FixedClock)
    last_rec = None
    for ev in store.read(1):
        if ev.seq > args.rerun_entries and ev.record.kind == "command":
            break  # cut at a command boundary: the prefix is a complete run
        if ev.recorded_time != last_rec and batch:
            prefix.append(batch)
            batch = []
        last_rec = clock.t = ev.recorded_time
        batch.append(NewEvent(ev.record, ev.valid_time, ev.correlation_id, ev.causation_id, ev.stream))
    if batch:
        prefix.append(batch)
    t0 = time.perf_counter()
    res = rerun(prefix, part)
    dt = time.perf_counter() - t0
    print(f"re-run of the first {prefix.head().seq:,} entries ({res.commands:,} commands): {dt:.1f} s "
          f"({prefix.head().seq / dt:,.0f} entries/s), same head hash: {res.same}")  # fmt: skip
    store.close()
    tmp.cleanup()


if __name__ == "__main__":
    main()
