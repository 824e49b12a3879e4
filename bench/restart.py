"""Restart time of `chronex serve` over a served day's log: cold (fold the whole log) vs warm
(restore the latest snapshots, fold the tail), for log lengths set by ``--gap-ms``.

    flock /tmp/chronex-bench.lock .venv/bin/python bench/restart.py [--gap-ms 100] [--every 5000]
        [--rounds 5] [--fresh]

It records a simulated TSE day (two instruments, seeded limit/cancel/crossing flow) under
bench/out/ (git-ignored) the way `chronex serve` writes one: each command through the server's
sequencer from one of four sessions (so the log holds session command ids and order ownership),
snapshots spaced by the sequencer (at least ``--every`` entries and half the covered log apart).
Then it times what a restart of the server does before it is ready: read the recorded config,
build the system over the log and wire the server (routing and session ids); the REST read
models, FIX order state and feeds are not built here (docs/operators.md). Cold and warm rounds are
interleaved in one run; it prints each round, the medians, the ratio and the tail a warm start
folds, and checks that warm and cold end in the same state and append nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chronex.commands.serve import ServedWorld, WorldHost  # noqa: E402
from sim.replay import recorded_config  # noqa: E402
from sim.replay.synthetic import Flow, continuous_windows, day_config, tokyo  # noqa: E402
from system.clock import WallClock  # noqa: E402
from system.eventlog import open_log  # noqa: E402
from system.eventlog.codec import canonical  # noqa: E402
from system.server.clockmode import ClockMode  # noqa: E402
from system.server.server import Server  # noqa: E402

DAY = date(2027, 1, 6)
OUT = ROOT / "bench" / "out"


def record(path: Path, gap_ms: int, every: int) -> None:
    cfg = day_config(seed=1, snapshot_every=every)
    world = ServedWorld(cfg, start_ns=tokyo(DAY, 7), log=str(path), until_ns=tokyo(DAY, 16))
    server = Server(WorldHost(world), ClockMode(world.clock))
    seq = server.sequencer
    flow = Flow(1, cfg.instruments, continuous_windows(DAY), mean_gap_ns=gap_ms * 1_000_000)
    t0 = time.perf_counter()
    n = 0
    for t, cmd in flow.commands(None):
        world.run_until(t)
        seq.publish_pending()  # what the clock's timers appended reaches the router first
        seq.submit(f"S{n % 4}", f"o{n}", cmd)
        seq.step()
        n += 1
    world.run_until(tokyo(DAY, 16))
    seq.publish_pending()
    head = world.store.head().seq
    world.close()
    print(f"recorded: {n:,} commands, {head:,} entries in {time.perf_counter() - t0:.1f} s")


def restart(path: Path, warm: bool) -> tuple[float, float, int, str]:
    """What `chronex serve` does over an existing log before it is ready; (wall seconds, CPU
    seconds, head, digest). CPU time is the figure to compare on a shared machine: wall time
    also counts the time other processes held the core."""
    url = str(path)
    t0 = time.perf_counter()
    c0 = time.process_time()
    world = ServedWorld(recorded_config_of(path), start_ns=tokyo(DAY, 16), log=url, warm_start=warm)
    server = Server(WorldHost(world), ClockMode(world.clock))
    dt = time.perf_counter() - t0
    cpu = time.process_time() - c0
    h = hashlib.sha256()
    for c in world.runtime.components:
        h.update(canonical(c.snapshot_state()))
    for p in world.runtime.projections:
        state = p.snapshot_state()
        if state is not None:
            h.update(canonical(state))
    h.update(repr(sorted(world.runtime._done.items())).encode())
    h.update(repr(sorted(server.router.owner.items())).encode())
    h.update(repr(sorted(server.sequencer._digests.items())).encode())
    head = world.store.head().seq
    world.close()
    return dt, cpu, head, h.hexdigest()[:16]


def stopped_copy(killed: Path, stopped: Path) -> None:
    """The log as a graceful stop leaves it: the same entries and a snapshot at the head."""
    shutil.copyfile(killed, stopped)
    world = ServedWorld(
        recorded_config_of(stopped), start_ns=tokyo(DAY, 16), log=str(stopped), warm_start=True
    )
    server = Server(WorldHost(world), ClockMode(world.clock))
    server.checkpoint()
    world.close()


def recorded_config_of(path: Path) -> Any:
    probe = open_log(str(path), WallClock(), create=False)
    try:
        return recorded_config(probe)
    finally:
        probe.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gap-ms", type=int, default=100, help="mean gap between commands, ms")
    ap.add_argument("--every", type=int, default=5000, help="snapshot every N entries (serve's default)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--fresh", action="store_true", help="record the day again")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 1 round")
    args = ap.parse_args()
    if args.quick:  # make bench BENCH_ARGS=--quick
        args.rounds = 1
    killed = OUT / f"restart-served-{args.gap_ms}ms-{args.every}.db"
    stopped = killed.with_name(killed.stem + "-stopped.db")
    if args.fresh or not killed.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        part = killed.with_suffix(".part")
        for p in (part, killed, stopped):
            p.unlink(missing_ok=True)
        record(part, args.gap_ms, args.every)
        part.rename(killed)
    if not stopped.exists():
        stopped_copy(killed, stopped)
    store = open_log(str(killed), WallClock(), create=False)
    head = store.head().seq
    snaps = store.list_snapshots("engine")
    store.close()
    tail = head - (snaps[-1] if snaps else 0)
    print(f"log: {killed.relative_to(ROOT)}, {head:,} entries, {len(snaps)} snapshots")
    print(f"after a kill -9 a warm start folds the last {tail:,} entries; after a graceful stop none")
    # (label, log, warm): cold folds the whole log; the two warm kinds differ in their tail.
    kinds = [("cold", killed, False), ("warm after kill", killed, True), ("warm after stop", stopped, True)]
    cpu: dict[str, list[float]] = {k: [] for k, _, _ in kinds}
    wall: dict[str, list[float]] = {k: [] for k, _, _ in kinds}
    digests: set[str] = set()
    for r in range(args.rounds):
        order = kinds if r % 2 == 0 else kinds[::-1]
        for label, path, warm in order:
            dt, c, h, d = restart(path, warm)
            if h != head:
                raise SystemExit(f"a restart appended to the log ({head} -> {h})")
            digests.add(d)
            wall[label].append(dt)
            cpu[label].append(c)
            print(f"round {r + 1} {label}: {c:.2f} s CPU ({dt:.2f} s wall)")
    if len(digests) != 1:
        raise SystemExit(f"warm and cold restarts disagree: {sorted(digests)}")
    mc = statistics.median(cpu["cold"])
    load = os.getloadavg()[0]
    for label in cpu:
        m, w = statistics.median(cpu[label]), statistics.median(wall[label])
        print(f"{label:>16}: median {m:.2f} s CPU ({m / mc:.2f} of cold), {w:.2f} s wall")
    print(f"load average {load:.1f}")
    print(f"same state in every restart: {digests.pop()}")


if __name__ == "__main__":
    main()
