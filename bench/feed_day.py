"""A whole simulated TSE day served by `chronex serve` and rebuilt by subscribers from the feed
alone: one over SoupBinTCP, one over MoldUDP64 dropping 2% of the packets it receives (recovered
by retransmission). At the end every book of both (and of a GLIMPSE snapshot) must equal the
server's, order by order; the stop must bring End of Session on both transports.

    flock /tmp/chronex-bench.lock .venv/bin/python bench/feed_day.py [--seed 7] [--until 15:30]
        [--instruments all] [--loss 0.02]

Prints the day's size, how long each subscriber took from login (SoupBinTCP) or the server's ready
line (MoldUDP64) to its last message, and the mismatches (none expected). Exit 1 on a mismatch.
"""

# ruff: noqa: E402  (sys.path is fixed before the imports)
from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Run as a script, bench/ comes first on sys.path and bench/sim.py would shadow the `sim` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from sim.markets import load_profile
from system.gateways.itch.served import run_served_day

ROOT = Path(__file__).resolve().parents[1]


def run() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--instruments", default="all", help="comma-separated symbols, or 'all' (12)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--until", default="", help="end of the day (HH:MM, default: the close)")
    ap.add_argument("--loss", type=float, default=0.02)
    ap.add_argument("--every", type=int, default=50, help="compare the books at every N-th trade")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 2 instruments to 09:05")
    a = ap.parse_args()
    if a.quick:  # make bench BENCH_ARGS=--quick
        a.until = '09:05'
        a.instruments = '7203,6758'
    profile = load_profile("XTKS")
    specs = [
        s for s in profile.specs if a.instruments == "all" or s.instrument.symbol in a.instruments.split(",")
    ]
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "day.db"
        argv = ["sim", "--venue", "XTKS", "--date", "2027-01-04", "--seed", str(a.seed), "--log", str(log),
                "--quiet", "--instruments", ",".join(s.instrument.symbol for s in specs)]  # fmt: skip
        if a.until:
            argv += ["--until", a.until]
        t0 = time.perf_counter()
        cmd = [sys.executable, "-c", "from chronex.cli import entry; entry()", *argv]
        if subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL).returncode != 0:
            return 2
        print(f"simulated {len(specs)} instruments, seed {a.seed}, until {a.until or 'the close'} "
              f"in {time.perf_counter() - t0:.0f} s")  # fmt: skip
        t0 = time.perf_counter()
        day = asyncio.run(
            run_served_day(log, [s.instrument for s in specs], loss=a.loss, cwd=ROOT, every=a.every)
        )
        print(f"served and checked in {time.perf_counter() - t0:.0f} s (server start, catch-up included)")
    n = day.messages
    print(f"messages: {n:,}; displayed orders at the end: {day.orders:,}")
    print(f"  SoupBinTCP subscriber   {day.soup_seconds:6.1f} s  {n / day.soup_seconds:>10,.0f} msgs/s")
    print(f"  MoldUDP64 subscriber    {day.mold_seconds:6.1f} s  {n / day.mold_seconds:>10,.0f} msgs/s  "
          f"({day.mold_dropped:,} packets dropped on purpose, {day.mold_requests:,} requests)")  # fmt: skip
    print(f"  End of Session seen: SoupBinTCP {day.ended[0]}, MoldUDP64 {day.ended[1]}")
    for p in day.problems:
        print(f"  MISMATCH: {p}")
    ok = not day.problems and all(day.ended)
    print("books equal the server's at the end" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(run())
