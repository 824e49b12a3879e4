"""Event log throughput: append (batched and one by one) and full replay, memory and SQLite.

    .venv/bin/python bench/eventlog.py [--events 1000000] [--batch 1000] [--single 50000]

Each measurement runs in a fresh child process so its peak RSS is its own. Full replay is
``store.replay()``: read every row, recompute sha256(prev_hash || body) against the stored hash,
decode the envelope and the record. Targets on the 2-core reference machine: SQLite batched append
>= 200,000 events/s, full replay >= 400,000 events/s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from system.clock import FixedClock  # noqa: E402
from system.eventlog import Event, NewEvent, open_log  # noqa: E402


class BenchTrade(Event, frozen=True):
    """A small event: about 60 bytes of canonical body."""

    instrument: int
    price: int
    qty: int
    side: str

    def stream(self) -> str:
        return f"book/{self.instrument}"


def make_events(n: int) -> list[NewEvent]:
    return [
        NewEvent(BenchTrade(i % 100, 10_000 + i % 97, 1 + i % 13, "B" if i % 2 else "S"), i)
        for i in range(n)
    ]


def measure(backend: str, mode: str, n: int, batch: int) -> dict[str, float]:
    """Runs in the child: append ``n`` events, then replay them all."""
    tmp = tempfile.mkdtemp(prefix="chronex-bench-")
    url = "memory://" if backend == "memory" else os.path.join(tmp, "bench.db")
    store = open_log(url, FixedClock(1))
    events = make_events(n)
    t0 = time.perf_counter()
    if mode == "batched":
        for i in range(0, n, batch):
            store.append(events[i : i + batch])
    else:
        for ev in events:
            store.append([ev])
    t_append = time.perf_counter() - t0
    del events
    t0 = time.perf_counter()
    count = 0
    for _ in store.replay():
        count += 1
    t_replay = time.perf_counter() - t0
    assert count == n, (count, n)
    size = os.path.getsize(url) if backend == "sqlite" else 0
    store.close()
    shutil.rmtree(tmp, ignore_errors=True)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "append": n / t_append,
        "replay": n / t_replay,
        "rss_mb": rss_mb,
        "file_mb": size / 2**20,
    }


def child(args: list[str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=1_000)
    ap.add_argument("--single", type=int, default=50_000, help="events for the one-by-one runs")
    ap.add_argument("--quick", action="store_true", help="100k batched, 10k one by one (a smoke run)")
    ap.add_argument("--child", nargs=4, metavar=("BACKEND", "MODE", "N", "BATCH"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        backend, mode, n, batch = a.child
        print(json.dumps(measure(backend, mode, int(n), int(batch))))
        return
    if a.quick:
        a.events, a.single = min(a.events, 100_000), min(a.single, 10_000)
    print(f"chronex event log benchmark: small events (~60-byte bodies, 100 streams), {os.cpu_count()} CPUs")
    header = f"{'backend':8} {'append mode':24} {'events':>10} {'append ev/s':>12} {'replay ev/s':>12} "
    header += f"{'peak RSS MB':>12} {'file MB':>8}"
    print(header)
    print("-" * len(header))
    for backend in ("memory", "sqlite"):
        for mode, n in (("batched", a.events), ("one-by-one", a.single)):
            r = child([backend, mode, str(n), str(a.batch)])
            label = f"batched x{a.batch}" if mode == "batched" else "one by one (1 per txn)"
            print(
                f"{backend:8} {label:24} {n:>10,} {r['append']:>12,.0f} {r['replay']:>12,.0f} "
                f"{r['rss_mb']:>12,.0f} {r['file_mb']:>8,.1f}",
                flush=True,
            )
    print(f"one-by-one runs use {a.single:,} events (one transaction each)")
    print("replay = read + hash check + decode of every entry")
    print("targets: sqlite batched append >= 200,000 ev/s; full replay >= 400,000 ev/s")


if __name__ == "__main__":
    main()
