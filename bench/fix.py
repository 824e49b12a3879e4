"""FIX order entry through `chronex serve`: NewOrderSingle in, ExecutionReport out, on loopback.

    .venv/bin/python bench/fix.py [--seconds 5] [--rounds 3] [--sessions 10]

The server is `chronex serve` in its own process (SQLite log in /dev/shm when it exists, virtual
clock, group commit). The load generator is a second process driving 10 initiator sessions over
the project's own FIX session layer. Workload: limit orders that rest (buys at 2500, sells at
2510 on XTKS:7203, account per session), so each order is one OrderAccepted and one ER.

Figures, each the median of --rounds interleaved rounds in one run:
- max: each session keeps a window of 64 orders outstanding; orders/s = ERs received / seconds;
- open loop at 10,000 orders/s: sends are scheduled at fixed instants (1,000/s per session);
  latency = ER received - scheduled send instant (so queueing delay counts); p50 / p99 / max;
- in-process: the same orders through World.execute (Runtime.execute, SQLite log), orders/s,
  and with runtime.batched() (the server's group commit path).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# bench/sim.py would shadow the sim package for a script run from bench/.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

WINDOW = 64
SESSION_TOML = """\
[[session]]
sender_comp_id = "CHRONEX"
target_comp_id = "L{i}"
accounts = ["ACC{i}"]
heartbeat_s = 30
sending_time_tolerance_s = 0
validate = true
"""


def _scratch() -> Path:
    shm = Path("/dev/shm")
    return Path(tempfile.mkdtemp(prefix="chronex-bench-fix-", dir=shm if shm.is_dir() else None))


# -- the load generator (its own process) ---------------------------------------------------------
def _generator(port: int, sessions: int, mode: str, seconds: float, rate: int, out: Any) -> None:
    from system.clock import FixedClock
    from system.gateways.fix import FixInitiator, FixMessage, FixSession, store_factory
    from system.gateways.fix.config import parse_sessions
    from system.gateways.fix.orders import chronex_dictionary

    sent: dict[bytes, int] = {}
    lat: list[int] = []
    received = [0]

    class App:
        def on_logon(self, session: FixSession) -> None:
            pass

        def on_logout(self, session: FixSession) -> None:
            pass

        def from_app(self, msg: FixMessage, session: FixSession) -> None:
            if msg.msg_type == "8":
                t = time.perf_counter_ns()
                received[0] += 1
                t0 = sent.pop(msg.get(11) or b"", None)
                if t0 is not None:
                    lat.append(t - t0)

    async def main() -> None:
        clock = FixedClock(1_925_434_800 * 10**9)
        inits = []
        for i in range(sessions):
            s = parse_sessions(
                {"session": [{"sender_comp_id": f"L{i}", "target_comp_id": "CHRONEX",
                              "sending_time_tolerance_s": 0, "validate": False}]}
            ).sessions[0]  # fmt: skip
            ini = FixInitiator(s, App(), clock, store_factory("memory:"), host="127.0.0.1", port=port,
                               dictionary=chronex_dictionary())  # fmt: skip
            for attempt in range(50):  # the last round's logout may still be finishing
                try:
                    await ini.connect(reset=True)
                    break
                except (ConnectionError, OSError):
                    if attempt == 49:
                        raise
                    await asyncio.sleep(0.2)
            inits.append(ini)
        n = [0]

        def send(k: int) -> None:
            n[0] += 1
            side, px = ("1", "2500") if n[0] % 2 else ("2", "2510")
            clid = f"{mode[0]}{n[0]}"
            sent[clid.encode()] = time.perf_counter_ns()
            inits[k].session.send(
                "D",
                [(11, clid), (1, f"ACC{k}"), (55, "XTKS:7203"), (54, side), (60, "20310106-01:00:00"),
                 (38, "100"), (40, "2"), (44, px)],
            )  # fmt: skip

        t_end = time.perf_counter() + seconds
        if mode == "max":
            while time.perf_counter() < t_end:
                outstanding = len(sent)
                for k in range(sessions):
                    for _ in range(max(0, WINDOW - outstanding // sessions)):
                        send(k)
                await asyncio.sleep(0)
            start_recv = received[0]
            await asyncio.sleep(0.5)
            out.send({"orders": start_recv, "seconds": seconds})
        else:
            interval = 1e9 / rate
            t0 = time.perf_counter_ns()
            i = 0
            while True:
                now = time.perf_counter_ns()
                if now - t0 >= seconds * 1e9:
                    break
                due = int((now - t0) / interval)
                while i <= due:
                    send(i % sessions)
                    # latency counts from the scheduled instant, not the actual send
                    key = f"{mode[0]}{n[0]}".encode()
                    sent[key] = t0 + int(i * interval)
                    i += 1
                await asyncio.sleep(0)
            await asyncio.sleep(1.0)
            out.send({"orders": i, "lat": lat, "missing": len(sent)})
        for ini in inits:
            await ini.stop(timeout_s=0.5)

    asyncio.run(main())


def _round(port: int, sessions: int, mode: str, seconds: float, rate: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    a, b = ctx.Pipe()
    p = ctx.Process(target=_generator, args=(port, sessions, mode, seconds, rate, b))
    p.start()
    if not a.poll(seconds + 120):
        p.kill()
        raise RuntimeError(f"the {mode} load generator sent no result (exit code {p.exitcode})")
    res: dict[str, Any] = a.recv()
    p.join(30)
    return res


# -- the in-process command path --------------------------------------------------------------------
def _inprocess(n: int, batched: bool) -> float:
    from sim.world import World
    from steps.instruments import default_instrument
    from system.bootstrap import SystemConfig
    from system.engine import Side, SubmitOrder

    d = _scratch()
    inst = default_instrument("XTKS:7203")
    w = World(SystemConfig(instruments=(inst,)), start_ns=1_925_434_800 * 10**9, log=str(d / "ip.db"),
              sessions=False)  # fmt: skip
    cmds = [
        SubmitOrder(f"ACC{i % 10}", f"c{i}", inst.id, Side.BUY if i % 2 else Side.SELL, 100,
                    price=25000 if i % 2 else 25100)
        for i in range(n)
    ]  # fmt: skip
    t0 = time.perf_counter()
    if batched:
        with w.runtime.batched(512):
            for c in cmds:
                w.execute(c)
    else:
        for c in cmds:
            w.execute(c)
    dt = time.perf_counter() - t0
    w.close()
    return n / dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--rate", type=int, default=10_000)
    args = ap.parse_args()

    from system.server.process import ServeProcess

    d = _scratch()
    toml = "\n".join(SESSION_TOML.format(i=i) for i in range(args.sessions))
    (d / "sessions.toml").write_text(toml, encoding="utf-8")
    srv = ServeProcess(
        ["--venue", "XTKS", "--instruments", "7203", "--no-calendar", "--log", str(d / "day.db"),
         "--fix-port", "0", "--sessions", str(d / "sessions.toml"), "--start", "2031-01-06T10:00+09:00"]
    )  # fmt: skip
    port = srv.fix_port
    maxes: list[float] = []
    p50: list[float] = []
    p99: list[float] = []
    pmax: list[float] = []
    achieved: list[float] = []
    ip: list[float] = []
    ipb: list[float] = []
    try:
        for r in range(args.rounds):
            res = _round(port, args.sessions, "max", args.seconds, 0)
            maxes.append(res["orders"] / res["seconds"])
            res = _round(port, args.sessions, "open", args.seconds, args.rate)
            lat = sorted(res["lat"])
            achieved.append(len(lat) / args.seconds)
            if lat:
                p50.append(lat[len(lat) // 2] / 1e3)
                p99.append(lat[int(len(lat) * 0.99)] / 1e3)
                pmax.append(lat[-1] / 1e3)
            ip.append(_inprocess(20_000, False))
            ipb.append(_inprocess(20_000, True))
            print(
                f"round {r + 1}: max {maxes[-1]:,.0f} orders/s; open loop {args.rate:,}/s -> "
                f"{achieved[-1]:,.0f} ERs/s, p50 {p50[-1] if p50 else 0:,.0f} us, "
                f"p99 {p99[-1] if p99 else 0:,.0f} us; in-process {ip[-1]:,.0f}/s, batched {ipb[-1]:,.0f}/s",
                flush=True,
            )
    finally:
        srv.terminate()
    med = statistics.median
    print()
    print(f"FIX, {args.sessions} sessions, loopback, server and generator in separate processes "
          f"(medians of {args.rounds} rounds, {os.cpu_count()} cores):")  # fmt: skip
    print(f"  max throughput (window {WINDOW}/session): {med(maxes):>10,.0f} orders/s")
    print(f"  open loop {args.rate:,}/s:  achieved {med(achieved):,.0f} ERs/s; "
          f"latency p50 {med(p50):,.0f} us, p99 {med(p99):,.0f} us, max {med(pmax):,.0f} us")  # fmt: skip
    print(f"  in-process World.execute (SQLite log):  {med(ip):>10,.0f} orders/s")
    print(f"  in-process, runtime.batched(512):        {med(ipb):>10,.0f} orders/s")
    print(f"  FIX max / in-process batched: {med(maxes) / med(ipb):.2f}")


if __name__ == "__main__":
    main()
