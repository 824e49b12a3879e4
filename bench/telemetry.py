"""What tracing costs on the sequencer's hot path: absent, off, and on.

    .venv/bin/python bench/telemetry.py [--commands 20000] [--rounds 7] [--batch 512]

Each round builds a fresh served system (one XTKS instrument, in-memory log, no calendar),
queues ``--commands`` limit orders (buys and sells alternating at one price, so half of them
trade) and times ``sequencer.drain()``: group commits of up to ``--batch`` commands, routing and
replies included. Three variants, run in a rotating order within each round (paired):

- absent: the sequencer as it was before telemetry existed (``git show BASE:system/server/
  sequencer.py``, loaded beside the current one; ``--base``, default the newest commit whose
  sequencer had no telemetry);
- off: today's sequencer with no ``Telemetry`` (what ``chronex serve`` runs without --otlp);
- on: a ``Telemetry`` exporting every span to memory (the cost of tracing, for information).

Prints the median commands/s of each and the off/absent and on/off ratios. The machine is shared:
compare the columns of one run.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chronex.commands.serve import ServedWorld, WorldHost  # noqa: E402
from system.bootstrap import SystemConfig  # noqa: E402
from system.clock import WallClock  # noqa: E402
from system.engine import SubmitOrder  # noqa: E402
from system.engine.orders import OrderType, Side  # noqa: E402
from system.engine.testkit import instrument  # noqa: E402
from system.server.clockmode import ClockMode  # noqa: E402
from system.server.sequencer import Sequencer  # noqa: E402

T0 = 1_925_424_000 * 10**9
INST = "XTKS:7203"


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def _before_telemetry() -> str:
    """The newest commit whose sequencer had no telemetry. (The merge base with main was the
    default: on main itself that is HEAD, whose sequencer has it, so `make bench` stopped here.)"""
    for rev in _git("log", "--format=%H", "--", "system/server/sequencer.py").split():
        if "telemetry" not in _git("show", f"{rev}:system/server/sequencer.py"):
            return rev
    sys.exit("no commit of system/server/sequencer.py without telemetry here: pass --base")


def _old_sequencer(base: str) -> type[Any]:
    src = _git("show", f"{base}:system/server/sequencer.py")
    if "telemetry" in src:
        sys.exit(f"{base}:system/server/sequencer.py already has telemetry; pass --base an older commit")
    path = Path(sys.argv[0]).with_name("_sequencer_absent.py")
    spec = importlib.util.spec_from_loader("bench_sequencer_absent", loader=None)
    assert spec is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    exec(compile(src, str(path), "exec"), mod.__dict__)
    return mod.Sequencer  # type: ignore[no-any-return]


def _round(kind: str, n: int, batch: int, old: type[Any]) -> float:
    world = ServedWorld(SystemConfig(instruments=(instrument(INST),)), start_ns=T0, sessions=False)
    host = WorldHost(world)
    cls = old if kind == "absent" else Sequencer
    seq = cls(host, ClockMode(world.clock), max_batch=batch)
    shutdown = None
    if kind == "on":
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        from system.telemetry.providers import TelemetryConfig, build_telemetry

        seq.telemetry, shutdown = build_telemetry(
            TelemetryConfig(), WallClock(), span_exporter=InMemorySpanExporter()
        )
    replies = 0

    def reply(_: Any) -> None:
        nonlocal replies
        replies += 1

    for i in range(n):
        side, acc = (Side.BUY, "A") if i % 2 == 0 else (Side.SELL, "B")
        cmd = SubmitOrder(account=acc, client_order_id=f"o{i}", instrument=INST, side=side, qty=100,
                          order_type=OrderType.LIMIT, price=28_000)  # fmt: skip
        seq.submit("S", f"o{i}", cmd, reply)
    t0 = time.perf_counter()
    seq.drain()
    dt = time.perf_counter() - t0
    assert replies == n, (kind, replies)
    if shutdown is not None:
        shutdown()
    world.close()
    return n / dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--commands", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--base", default=None, help="the 'absent' sequencer's commit")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 2,000 commands, 1 round")
    a = ap.parse_args()
    if a.quick:  # make bench BENCH_ARGS=--quick
        a.commands = 2_000
        a.rounds = 1
    base = a.base or _before_telemetry()
    old = _old_sequencer(base)
    kinds = ["absent", "off", "on"]
    rates: dict[str, list[float]] = {k: [] for k in kinds}
    _round("off", 2000, a.batch, old)  # warm-up: imports, caches
    for r in range(a.rounds):
        order = kinds[r % 3 :] + kinds[: r % 3]
        for k in order:
            rates[k].append(_round(k, a.commands, a.batch, old))
        print(f"round {r + 1}: " + "  ".join(f"{k} {rates[k][-1]:,.0f}/s" for k in kinds), flush=True)
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"\n{a.commands:,} commands per round, {a.rounds} rounds, batches of {a.batch}, base {base[:10]}")
    for k in kinds:
        lo, hi = min(rates[k]), max(rates[k])
        print(f"  {k:7s} median {med[k]:>10,.0f} commands/s  (min {lo:,.0f}, max {hi:,.0f})")
    paired = [o / b for o, b in zip(rates["off"], rates["absent"], strict=True)]
    print(f"  off/absent: median of paired ratios {statistics.median(paired):.3f}, ratio of medians "
          f"{med['off'] / med['absent']:.3f}")  # fmt: skip
    print(f"  on/off:     ratio of medians {med['on'] / med['off']:.3f}")


if __name__ == "__main__":
    main()
