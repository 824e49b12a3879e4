"""`chronex ingest fix` against its peers on one log, measured in one run.

    .venv/bin/python bench/ingest.py [--orders 20000] [--rounds 3] [--quick]

A synthetic venue message log (QuickFIX FileLog format) of ``--orders`` NewOrderSingles, each
answered by an ExecutionReport, crossing now and then, is written once. Then, ``--rounds`` times:

1. read: the file framed, checked and parsed (``system.ingest.sources.read_source``);
2. ingest: read + the log written (commands through the system, every message kept);
3. rerun: the ingested log re-run through today's engine (``sim.replay.rerun``) into a fresh log.

Printed: medians in seconds and messages/s, and the ingest/rerun ratio (a re-run does the same
appends and engine work without parsing FIX, so it is the natural peer). In-process, start-up
(the venue calendar) excluded. The machine is shared: compare the columns of one run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.markets import load_profile  # noqa: E402
from sim.replay import rerun  # noqa: E402
from system.bootstrap import SystemConfig  # noqa: E402
from system.clock import FixedClock  # noqa: E402
from system.eventlog import open_log  # noqa: E402
from system.gateways.fix.codec import encode  # noqa: E402
from system.ingest.sources import read_source  # noqa: E402
from system.ingest.writer import write_log  # noqa: E402


def venue_log(path: Path, orders: int) -> int:
    lines: list[bytes] = []
    seq = {"C1": 1, "VENUE": 1}

    def add(mt: str, sender: str, target: str, body: list[tuple[int, str]], ts: str) -> None:
        seq[sender] += 1
        m = encode("FIX.4.4", [(35, mt), (49, sender), (56, target), (34, seq[sender]), (52, ts), *body])
        lines.append(f"{ts} : ".encode() + m)

    for i in range(orders):
        ts = f"20310106-01:{(i // 60_000) % 60:02d}:{(i // 1000) % 60:02d}.{i % 1000:03d}"
        side, px = ("1" if i % 2 else "2"), str(2500 + (i % 7) - 3)
        body = [(11, f"o{i}"), (1, "ACC1"), (55, "XTKS:7203"), (54, side), (38, "100"), (40, "2"), (44, px)]
        add("D", "C1", "VENUE", body, ts)
        report = [(37, str(i)), (11, f"o{i}"), (150, "0"), (39, "0"), (151, "100"), (14, "0")]
        add("8", "VENUE", "C1", report, ts)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return len(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="A smoke run: 500 orders, one round.")
    args = ap.parse_args()
    if args.quick:
        args.orders, args.rounds = 500, 1
    cfg = SystemConfig(instruments=load_profile("XTKS").select(["7203"]).instruments, label="ingest")
    times: dict[str, list[float]] = {"read": [], "ingest": [], "rerun": []}
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "FIX.4.4-VENUE-C1.messages.log"
        n = venue_log(src, args.orders)
        for r in range(args.rounds):
            t0 = time.perf_counter()
            source = read_source(src)
            times["read"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            store = open_log(Path(d) / f"prod{r}.db", FixedClock(0))
            write_log([read_source(src)], store, cfg)
            times["ingest"].append(time.perf_counter() - t0)
            out = open_log(Path(d) / f"rerun{r}.db", FixedClock(0))
            t0 = time.perf_counter()
            res = rerun(store, out)
            times["rerun"].append(time.perf_counter() - t0)
            assert res.same, "the re-run of an ingested log must reproduce it"
            store.close()
            out.close()
        del source
    print(f"{n:,} FIX messages ({args.orders:,} orders and their reports), {args.rounds} rounds, medians:")
    for k, v in times.items():
        m = statistics.median(v)
        print(f"  {k:7s} {m:7.2f} s  {n / m:10,.0f} messages/s")
    ratio = statistics.median(times["ingest"]) / statistics.median(times["rerun"])
    print(f"  ingest / rerun: {ratio:.2f}")


if __name__ == "__main__":
    main()
