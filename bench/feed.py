"""Feed throughput for a full simulated day: ITCH 5.0 messages encoded per second, and sent over
SoupBinTCP and MoldUDP64 on loopback; the encoder set against the engine's own replay speed.

    flock /tmp/chronex-bench.lock .venv/bin/python bench/feed.py [--seed 7] [--rounds 5]
        [--instruments all] [--minutes 0]
    .venv/bin/python bench/feed.py --instructions --minutes 90   # callgrind counts, load-proof

Workload: one XTKS day (pre-open to close) simulated into an in-memory log, read once into a
list. Each round runs, interleaved: (a) the engine's replay (fold of every entry, the work the
feed cannot avoid), (a') the engine's re-run of the day, as ``chronex replay --rerun`` runs it
(every input re-executed into a new memory log, the heads compared), (b) the encoder (fold + ITCH
messages), (c) the message packers alone on the day's messages, (d) the day's stream to one
SoupBinTCP subscriber, (e) to one MoldUDP64 subscriber (no faults), (f) to one MoldUDP64
subscriber with 2% of packets lost (recovered by retransmission). Figures are medians of the
rounds; the machine is shared, so the ratios between paths measured in the same rounds (encoder
to replay, MoldUDP64 to SoupBinTCP) are the figures to read. "ITCH part" is the encoder's time
less the replay's: what translating costs on top of the fold every subscriber of the log pays.
"""

# ruff: noqa: E402  (sys.path is fixed before the imports)
from __future__ import annotations

import argparse
import asyncio
import os
import pickle
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

# Run as a script, bench/ comes first on sys.path and bench/sim.py would shadow the `sim` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from sim.markets import simulated_day
from sim.replay.rerun import rerun
from system.clock import FixedClock
from system.engine.fold import EngineState
from system.eventlog import EventStore, open_log
from system.eventlog.codec import LoggedEvent
from system.gateways.itch import ItchEncoder
from system.gateways.itch import messages as m
from system.gateways.itch.mold import Faults, MoldClient, MoldPublisher
from system.gateways.itch.soup import SoupClient, SoupServer


def replay(events: list[LoggedEvent]) -> float:
    st = EngineState()
    fold = {t.name: fns[0] for t, fns in st.appliers().items()}  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    for ev in events:
        fn = fold.get(ev.type)
        if fn is not None:
            fn(ev.record)
    return time.perf_counter() - t0


def rerun_day(store: EventStore) -> float:
    """The engine replaying the day as ``chronex replay --rerun`` does: every logged input
    re-executed through a new system into a new (memory) log, then the two heads compared."""
    out = open_log("memory://", FixedClock(0))
    try:
        t0 = time.perf_counter()
        res = rerun(store, out)
        dt = time.perf_counter() - t0
    finally:
        out.close()
    if not res.same:
        sys.exit(f"the re-run diverged from the day at seq {res.divergence and res.divergence.seq}")
    return dt


def encode(events: list[LoggedEvent], tz: str, ids: list[str]) -> tuple[float, ItchEncoder]:
    enc = ItchEncoder(tz, ids)
    t0 = time.perf_counter()
    enc.handle_batch(events)
    enc.finish()
    return time.perf_counter() - t0, enc


def pack_only(msgs: list[bytes]) -> float:
    """Re-pack every Add/Execute/Delete/Replace of the day from its decoded fields."""
    fields = [(msg[:1], m.STRUCTS[msg[:1]].unpack_from(msg, 1)) for msg in msgs]
    packers = {t: s.pack for t, s in m.STRUCTS.items()}
    t0 = time.perf_counter()
    for t, f in fields:
        t + packers[t](*f)
    return time.perf_counter() - t0


class _Done:
    def __init__(self, msgs: list[bytes]) -> None:
        self.messages = msgs
        self.ended = True

    def listen(self, fn: object) -> None:
        pass

    def snapshot(self) -> list[bytes]:
        return []


async def soup(msgs: list[bytes]) -> float:
    srv = SoupServer(_Done(msgs))
    port = await srv.start()
    c = SoupClient()
    t0 = time.perf_counter()
    await c.connect("127.0.0.1", port)
    n = 0
    async for _ in c.messages():
        n += 1
    dt = time.perf_counter() - t0
    await srv.stop()
    assert n == len(msgs), (n, len(msgs))
    return dt


async def mold(msgs: list[bytes], loss: float = 0.0) -> float:
    got = [0]

    def count(_m: bytes) -> None:
        got[0] += 1

    client = MoldClient(count, ("127.0.0.1", 0), retry=0.01)
    port = await client.start()
    pub = MoldPublisher(_Done(msgs), [("127.0.0.1", port)], heartbeat=0.05, faults=Faults(loss=loss, seed=1))
    t0 = time.perf_counter()
    client.request_to = ("127.0.0.1", await pub.start())
    await client.done.wait()
    dt = time.perf_counter() - t0
    client.close()
    await pub.stop()
    assert got[0] == len(msgs)
    return dt


def _measured(mode: str, path: str) -> None:
    """The program callgrind counts: load the day's entries, then replay or encode them (or
    nothing: the baseline that cancels start-up and loading out)."""
    with open(path, "rb") as f:
        tz, ids, events = pickle.load(f)
    if mode == "replay":
        replay(events)
    elif mode == "encode":
        _, enc = encode(events, tz, ids)
        print(f"messages {len(enc.messages)}")


def instructions(events: list[LoggedEvent], tz: str, ids: list[str]) -> None:
    """Instructions per entry and per message under ``valgrind --tool=callgrind`` (not moved by
    the machine's load): each path less a run that only loads the entries."""
    if shutil.which("valgrind") is None:
        sys.exit("valgrind not found: install it to count instructions")
    counts: dict[str, int] = {}
    msgs = 0
    with tempfile.TemporaryDirectory(prefix="chronex-feed-cg-") as tmp:
        path = os.path.join(tmp, "events.pickle")
        with open(path, "wb") as f:
            pickle.dump((tz, ids, events), f)
        for mode in ("load", "replay", "encode"):
            cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.out",
                   sys.executable, __file__, "--measure", mode, "--events", path]  # fmt: skip
            r = subprocess.run(cmd, capture_output=True, text=True, check=True)
            found = re.search(r"Collected : (\d+)", r.stderr)
            if found is None:
                sys.exit(f"callgrind printed no count for {mode}: {r.stderr[-500:]}")
            counts[mode] = int(found.group(1))
            if mode == "encode":
                msgs = int(r.stdout.split()[-1])
    e = len(events)
    rep, enc = counts["replay"] - counts["load"], counts["encode"] - counts["load"]
    print(f"instructions (callgrind): {e:,} entries, {msgs:,} messages")
    print(f"  engine replay (fold only)    {rep / e:>10,.0f} per entry")
    print(f"  encoder (fold + ITCH)        {enc / e:>10,.0f} per entry  {enc / msgs:>10,.0f} per message"
          f"  ({rep / enc:.2f}x replay)")  # fmt: skip
    print(f"  ITCH part (encoder - replay) {(enc - rep) / msgs:>10,.0f} per message")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--instruments", default="7203,6758", help="comma-separated, or 'all' (the profile's 12)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--minutes", type=int, default=0, help="only the first N minutes of the day (0: all)")
    ap.add_argument("--instructions", action="store_true", help="count instructions with callgrind instead")
    ap.add_argument("--measure", choices=("load", "replay", "encode"), help=argparse.SUPPRESS)
    ap.add_argument("--events", help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true", help="a smoke run: 20 minutes, 1 round")
    a = ap.parse_args()
    if a.quick:  # make bench BENCH_ARGS=--quick
        a.minutes = 20
        a.rounds = 1
    if a.measure:
        _measured(a.measure, a.events)
        return
    insts = None if a.instruments == "all" else a.instruments.split(",")
    day = simulated_day("XTKS", date(2027, 1, 4), instruments=insts, seed=a.seed)
    if a.minutes:
        day.end_ns = min(day.end_ns, day.start_ns + a.minutes * 60 * 10**9)
    t0 = time.perf_counter()
    day.run()
    day.world.runtime.flush()
    sim_s = time.perf_counter() - t0
    events = list(day.world.store.read(1))
    tz, ids = day.session.tz, list(day.profile.ids)
    span = f"first {a.minutes} min" if a.minutes else "full day"
    print(f"workload: XTKS 2027-01-04 {a.instruments} seed {a.seed} {span}: {len(events):,} log entries "
          f"(simulated in {sim_s:.1f} s)")  # fmt: skip
    if a.instructions:
        day.close()
        instructions(events, tz, ids)
        return
    rows: dict[str, list[float]] = {
        k: [] for k in ("replay", "rerun", "encode", "pack", "soup", "mold", "lossy")
    }
    msgs: list[bytes] = []
    for _ in range(a.rounds):
        rows["replay"].append(replay(events))
        rows["rerun"].append(rerun_day(day.world.store))
        dt, enc = encode(events, tz, ids)
        rows["encode"].append(dt)
        msgs = enc.messages
        rows["pack"].append(pack_only(msgs))
        rows["soup"].append(asyncio.run(soup(msgs)))
        rows["mold"].append(asyncio.run(mold(msgs)))
        rows["lossy"].append(asyncio.run(mold(msgs, 0.02)))
    med = {k: statistics.median(v) for k, v in rows.items()}
    n, e = len(msgs), len(events)
    print(f"messages: {n:,} ITCH ({n / e:.2f} per log entry); medians of {a.rounds} interleaved rounds")
    day.close()
    print(f"  engine replay (fold only)    {e / med['replay']:>12,.0f} entries/s")
    print(f"  engine re-run (replay --rerun) {e / med['rerun']:>10,.0f} entries/s")
    enc_rate = f"{e / med['encode']:>12,.0f} entries/s  {n / med['encode']:>12,.0f} msgs/s"
    print(f"  encoder (fold + ITCH)        {enc_rate}  ({med['replay'] / med['encode']:.2f}x replay, "
          f"{med['rerun'] / med['encode']:.2f}x re-run)")  # fmt: skip
    itch = med["encode"] - med["replay"]
    if itch > 0:
        print(f"  ITCH part (encoder - replay) {n / itch:>12,.0f} msgs/s")
    print(f"  message packing alone        {n / med['pack']:>12,.0f} msgs/s")
    print(f"  SoupBinTCP to one subscriber {n / med['soup']:>12,.0f} msgs/s")
    for k, label in (("mold", "MoldUDP64 to one subscriber "), ("lossy", "MoldUDP64, 2% packets lost  ")):
        print(f"  {label} {n / med[k]:>12,.0f} msgs/s  ({med['soup'] / med[k]:.2f}x SoupBinTCP)")


if __name__ == "__main__":
    main()
