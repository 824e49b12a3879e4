"""Restart time of `chronex serve` over a day-sized log: cold (fold the whole log) vs warm (restore
the latest snapshots, fold the tail into the components).

    flock /tmp/chronex-bench.lock .venv/bin/python bench/restart.py [--gap-ms 100] [--every 5000]
        [--rounds 5] [--fresh]

It records a simulated TSE day (two instruments, seeded limit/cancel/crossing flow through the real
system on the virtual clock, snapshots every ``--every`` entries, as `chronex serve` writes them)
under bench/out/ (git-ignored), then times what a restart of the server does before it is ready:
read the recorded config, build the system over the log, and wire the server (router ownership and
session ids). Cold and warm rounds are interleaved in one run; it prints each round, the medians
and the ratio, and checks that warm and cold end in the same state and append nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chronex.commands.serve import ServedWorld, WorldHost  # noqa: E402
from sim.replay import recorded_config  # noqa: E402
from sim.replay.synthetic import Flow, continuous_windows, day_config, run_day, tokyo  # noqa: E402
from sim.world import World  # noqa: E402
from system.clock import WallClock  # noqa: E402
from system.eventlog import open_log  # noqa: E402
from system.eventlog.codec import canonical  # noqa: E402
from system.server.clockmode import ClockMode  # noqa: E402
from system.server.server import Server  # noqa: E402

DAY = date(2027, 1, 6)
OUT = ROOT / "bench" / "out"


def record(path: Path, gap_ms: int, every: int) -> None:
    cfg = day_config(seed=1, snapshot_every=every)
    world = World(cfg, start_ns=tokyo(DAY, 7), log=path, until_ns=tokyo(DAY, 16))
    flow = Flow(1, cfg.instruments, continuous_windows(DAY), mean_gap_ns=gap_ms * 1_000_000)
    t0 = time.perf_counter()
    n = run_day(world, flow, end_ns=tokyo(DAY, 16), batch=1000)
    head = world.store.head().seq
    world.close()
    print(f"recorded: {n:,} commands, {head:,} entries in {time.perf_counter() - t0:.1f} s")


def restart(path: Path, warm: bool) -> tuple[float, int, str]:
    """What `chronex serve` does over an existing log before it is ready; (seconds, head, digest)."""
    url = str(path)
    t0 = time.perf_counter()
    probe = open_log(url, WallClock(), create=False)
    cfg = recorded_config(probe)
    probe.close()
    world = ServedWorld(cfg, start_ns=tokyo(DAY, 16), log=url, warm_start=warm)
    server = Server(WorldHost(world), ClockMode(world.clock))
    dt = time.perf_counter() - t0
    h = hashlib.sha256()
    for c in world.runtime.components:
        h.update(canonical(c.snapshot_state()))
    h.update(repr(sorted(server.router.owner.items())).encode())
    head = world.store.head().seq
    world.close()
    return dt, head, h.hexdigest()[:16]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gap-ms", type=int, default=100, help="mean gap between commands, ms")
    ap.add_argument("--every", type=int, default=5000, help="snapshot every N entries (serve's default)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--fresh", action="store_true", help="record the day again")
    args = ap.parse_args()
    path = OUT / f"restart-day-{args.gap_ms}ms-{args.every}.db"
    if args.fresh or not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(".part")
        for p in (part, path):
            p.unlink(missing_ok=True)
        record(part, args.gap_ms, args.every)
        part.rename(path)
    store = open_log(str(path), WallClock(), create=False)
    head = store.head().seq
    snaps = len(store.list_snapshots("engine"))
    store.close()
    print(f"log: {path.relative_to(ROOT)}, {head:,} entries, {snaps} engine snapshots")
    cold: list[float] = []
    warm: list[float] = []
    digests: set[str] = set()
    for r in range(args.rounds):
        for is_warm, out in ((False, cold), (True, warm)) if r % 2 == 0 else ((True, warm), (False, cold)):
            dt, h, d = restart(path, is_warm)
            if h != head:
                raise SystemExit(f"a restart appended to the log ({head} -> {h})")
            digests.add(d)
            out.append(dt)
            print(f"round {r + 1} {'warm' if is_warm else 'cold'}: {dt:.2f} s")
    if len(digests) != 1:
        raise SystemExit(f"warm and cold restarts disagree: {sorted(digests)}")
    mc, mw = statistics.median(cold), statistics.median(warm)
    print(f"cold restart: median {mc:.2f} s ({head / mc:,.0f} entries/s)")
    print(f"warm restart: median {mw:.2f} s ({head / mw:,.0f} entries/s)")
    print(f"warm / cold: {mw / mc:.2f} (same state: {digests.pop()})")


if __name__ == "__main__":
    main()
