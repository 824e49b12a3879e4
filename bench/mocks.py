"""The mocks, part 1: how fast `chronex mock --all` is up and down, and how many quotes a
market-maker mock sustains into `chronex serve`.

    .venv/bin/python bench/mocks.py [--seconds 5] [--rounds 3] [--quick]

`chronex serve` runs in its own process (XTKS 7203, 6758, 9984, 8306, no calendar, virtual
clock, SQLite log in /dev/shm when it exists, sessions from mocks/serve-sessions.toml).

Figures (medians of --rounds rounds, one run):
- start: `chronex mock --all --config` from spawn to its ready line (every catalogued mock
  started; makers and OEMS dial serve, the exchange serves its own venue), following serve's
  clock; stop: SIGTERM to exit (sessions logged out). Target: start under 5 s.
- quotes/s: the makers mock (3 makers, 4 XTKS instruments: 24 quote sides) in this process,
  quoting as fast as the ExecutionReports allow (quote_every_ms = 0: one replace in flight per
  side); a two-sided quote is two acknowledged sides, so quotes/s = acknowledged sides / 2 / s.
- peer, same run: the same replaces (3 accounts x 4 instruments x 2 sides, alternating
  prices) executed in process through World.execute on a SQLite log in the same place: what the
  engine and log do without the wire. The ratio wire / in-process is the figure to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# bench/sim.py would shadow the sim package for a script run from bench/.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

ROOT = Path(__file__).resolve().parents[1]
START = "2031-01-06T09:00+09:00"
INSTRUMENTS = ("7203", "6758", "9984", "8306")
CLI = [sys.executable, "-c", "from chronex.cli import entry; entry()"]


def _scratch() -> Path:
    shm = Path("/dev/shm")
    return Path(tempfile.mkdtemp(prefix="chronex-bench-mocks-", dir=shm if shm.is_dir() else None))


def _serve(d: Path) -> Any:
    from system.server.process import ServeProcess

    return ServeProcess(
        ["--venue", "XTKS", "--instruments", ",".join(INSTRUMENTS), "--no-calendar", "--start", START,
         "--fix-port", "0", "--sessions", str(ROOT / "mocks" / "serve-sessions.toml"),
         "--log", str(d / "serve.db")],
        cwd=ROOT,
    )  # fmt: skip


def start_stop(d: Path, srv: Any) -> tuple[float, float, list[str]]:
    admin = f"127.0.0.1:{srv.admin_port}"
    cfg = d / "mocks.toml"
    cfg.write_text(
        f'[clock]\nfollow = "{admin}"\n[targets]\nserve = "127.0.0.1:{srv.fix_port}"\nadmin = "{admin}"\n'
    )
    t0 = time.perf_counter()
    proc = subprocess.Popen([*CLI, "mock", "--all", "--config", str(cfg)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ready = json.loads(proc.stdout.readline())
    up = time.perf_counter() - t0
    t1 = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(60)
    down = time.perf_counter() - t1
    proc.stdout.close()
    if rc != 0:
        raise SystemExit(f"chronex mock --all exited {rc} on SIGTERM")
    return up, down, sorted(ready["mocks"])


def quotes(srv: Any, seconds: float) -> tuple[float, int]:
    from mocks.base import MockContext
    from mocks.clocks import PacedClock
    from mocks.makers import DEFAULT_PROFILE, MakersMock
    from mocks.profile import read_toml
    from system.clock import WallClock

    async def main() -> tuple[float, int]:
        prof = read_toml(DEFAULT_PROFILE, "p")
        prof["makers"]["quote_every_ms"] = 0
        prof["makers"]["instruments"] = list(INSTRUMENTS)
        clock = PacedClock(WallClock(), start_ns=1_925_424_000 * 10**9)
        mm = MakersMock(
            MockContext(profile=prof, clock=clock, targets={"serve": f"127.0.0.1:{srv.fix_port}"})
        )
        await mm.start()
        await asyncio.wait_for(mm.connected.wait(), 60)
        await asyncio.sleep(1.0)  # warm up: first orders placed
        a0, t0 = mm.quotes_acked, time.perf_counter()
        await asyncio.sleep(seconds)
        acked, dt = mm.quotes_acked - a0, time.perf_counter() - t0
        await mm.stop()
        return acked / 2 / dt, acked

    return asyncio.run(main())


def in_process(d: Path, seconds: float) -> float:
    from chronex.commands.serve import ServedWorld
    from sim.markets import load_profile
    from system.bootstrap import SystemConfig
    from system.engine import OrderAccepted, Phase, ReplaceOrder, Side, SubmitOrder, TimeInForce

    insts = load_profile("XTKS").select(list(INSTRUMENTS)).instruments
    log = d / f"peer-{time.perf_counter_ns()}.db"
    w = ServedWorld(SystemConfig(instruments=insts, default_phase=Phase.CONTINUOUS), start_ns=0, log=str(log),
                    sessions=False)  # fmt: skip
    orders = []
    for inst in insts:
        ref = int(inst.reference_price or 0)
        for a in ("MM1", "MM2", "MM3"):
            for side, px in ((Side.BUY, ref - 20), (Side.SELL, ref + 20)):
                cmd = SubmitOrder(a, f"{a}{inst.id}{side}", inst.id, side, 100, price=px, tif=TimeInForce.GTC)
                out = w.execute(cmd)
                oid = next(e.record.order_id for e in out.events if isinstance(e.record, OrderAccepted))
                orders.append((a, inst.id, oid, px))
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for a, iid, oid, px in orders:
            w.execute(ReplaceOrder(a, iid, oid, price=px + (n // len(orders)) % 2))
            n += 1
    rate = n / (time.perf_counter() - t0)
    w.close()
    return rate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one short round (a smoke run)")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.rounds = 1.0, 1
    d = _scratch()
    srv = _serve(d)
    try:
        ups: list[float] = []
        downs: list[float] = []
        q: list[float] = []
        peer: list[float] = []
        names: list[str] = []
        for _ in range(args.rounds):
            up, down, names = start_stop(d, srv)
            ups.append(up)
            downs.append(down)
            rate, _ = quotes(srv, args.seconds)
            q.append(rate)
            peer.append(in_process(d, args.seconds) / 2)  # replaces/s as two-sided quotes/s
        load = os.getloadavg()[0]
        med = statistics.median
        print(f"chronex mock --all ({', '.join(names)}), {args.rounds} rounds, load average {load:.1f}")
        print(f"  start to ready: median {med(ups):.2f} s (rounds: {', '.join(f'{x:.2f}' for x in ups)})"
              f"  target < 5 s: {'met' if med(ups) < 5 else 'NOT met'}")  # fmt: skip
        print(f"  SIGTERM to exit: median {med(downs):.2f} s")
        print(f"makers mock into chronex serve over FIX, 3 makers x {len(INSTRUMENTS)} instruments, "
              f"{args.seconds:g} s a round")  # fmt: skip
        print(f"  quotes/s (two-sided): median {med(q):,.0f} (rounds: {', '.join(f'{x:,.0f}' for x in q)})")
        print(f"  in-process peer, same replaces: median {med(peer):,.0f} quotes/s")
        print(f"  wire / in-process: {med(q) / med(peer):.2f}")
    finally:
        srv.terminate()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
