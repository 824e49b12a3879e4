"""A full simulated TSE day for 10 instruments written to a SQLite event log.

    .venv/bin/python bench/sim_day.py [--instruments 10] [--seed 1] [--activity 1.0] [--profile]

Prints log events per second, the ratio of simulated time (pre-open 08:00 to the 15:30 close,
27,000 s) to wall time, the process's CPU time, and peak memory. Target on the 2-core reference
machine: >= 1,000,000 log events in <= 60 s (>= 300x real time), memory < 2 GB. ``--profile``
runs under cProfile and splits the time between the agents, simpy, the engine, the runtime and
the store.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import time
from datetime import date
from pathlib import Path

from sim.markets import load_profile, simulated_day
from system.clock import NS_PER_SECOND

OUT = Path(__file__).parent / "out"

# Where a profiled function's own time is charged, by path fragment (first match wins).
AREAS = (
    ("sim/markets", "agents and fair values (sim/markets)"),
    ("simpy", "simpy scheduling"),
    ("sim/clock", "virtual clock (sim/clock)"),
    ("sim/world", "World.execute and expiry timers (sim/world.py)"),
    ("system/engine", "matching engine (system/engine)"),
    ("system/runtime", "runtime command path (system/runtime)"),
    ("system/eventlog", "event log encode/hash/append (system/eventlog)"),
    ("sqlite3", "sqlite3 C calls"),
    ("msgspec", "msgspec C calls"),
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--instruments", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--activity", type=float, default=1.0)
    ap.add_argument("--date", default="2027-01-04")
    ap.add_argument("--profile", action="store_true", help="run under cProfile and split the time")
    ap.add_argument("--quick", action="store_true", help="2 instruments at a tenth of the activity")
    args = ap.parse_args()
    if args.quick:
        args.instruments, args.activity = min(args.instruments, 2), 0.1

    OUT.mkdir(exist_ok=True)
    log = OUT / "sim-day.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{log}{suffix}").unlink(missing_ok=True)
    ids = load_profile("XTKS").ids[: args.instruments]

    t0 = time.perf_counter()
    day = simulated_day(
        "XTKS",
        date.fromisoformat(args.date),
        instruments=ids,
        seed=args.seed,
        log=log,
        activity=args.activity,
    )
    prof = cProfile.Profile() if args.profile else None
    t1 = time.perf_counter()
    if prof is not None:
        prof.enable()
    day.run()
    if prof is not None:
        prof.disable()
    t2 = time.perf_counter()
    head = day.world.store.head()
    day.close()
    t3 = time.perf_counter()

    wall = t3 - t0
    sim_s = (day.end_ns - day.start_ns) / NS_PER_SECOND
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stats = day.simulator.stats
    print(
        f"workload      XTKS {args.date}, {len(ids)} instruments, seed {args.seed}, activity {args.activity}"
    )
    print(f"log           {log} ({log.stat().st_size / 1e6:.0f} MB)")
    cmds = dict(sorted(stats.commands.items()))
    print(f"log events    {head.seq:,} ({stats.total_commands:,} commands: {cmds})")
    print(f"head          seq {head.seq:,}, hash {head.hash.hex()} (same inputs: same hash on every build)")
    print(f"trades        {sum(d.trades for d in stats.by_instrument.values()):,}")
    print(f"wall          {wall:.1f} s (set-up {t1 - t0:.1f}, run {t2 - t1:.1f}, close {t3 - t2:.1f})")
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(
        f"cpu           {ru.ru_utime + ru.ru_stime:.1f} s user+sys, start-up included "
        "(on a shared machine compare this, not wall time)"
    )
    print(f"events/s      {head.seq / wall:,.0f}")
    print(f"sim/wall      {sim_s / wall:,.0f}x real time ({sim_s:,.0f} s simulated)")
    print(f"peak memory   {peak_mb:,.0f} MB")
    ok = head.seq >= 1_000_000 and wall <= 60 and sim_s / wall >= 300 and peak_mb < 2048
    print(f"target        {'met' if ok else 'NOT met'} (>= 1,000,000 events in <= 60 s, >= 300x, < 2 GB)")
    if prof is not None:
        _split(prof)


def _split(prof: cProfile.Profile) -> None:
    st = pstats.Stats(prof)
    totals: dict[str, float] = {}
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, dict[object, object]]]
    raw = st.stats  # type: ignore[attr-defined]
    for (path, _line, fn), (_cc, _nc, tt, _ct, _callers) in raw.items():
        where = f"{path}:{fn}"
        area = next((name for frag, name in AREAS if frag in where), "other (Python builtins, heapq, ...)")
        totals[area] = totals.get(area, 0.0) + tt
    whole = sum(totals.values())
    print("\nown time by area (cProfile inflates Python-level costs):")
    for area, t in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {t:7.1f} s  {100 * t / whole:5.1f}%  {area}")
    print("\ntop functions by own time:")
    st.sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
