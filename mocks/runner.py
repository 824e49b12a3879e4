"""Running a set of mocks on one loop: build each from the catalogue, start them, announce their
endpoints, stop them all on a signal. ``chronex mock`` and the benchmark use it.

``--all --config FILE`` reads:

```toml
[clock]
follow = "127.0.0.1:7001"           # chronex serve's admin channel: share its clock (or:)
start = "2031-01-06T00:00:00Z"      # run an own clock paced from here ...
speed = 1                           # ... at this many virtual seconds per wall second

[targets]
serve = "127.0.0.1:9878"            # chronex serve's FIX port: where makers and the OEMS dial

record = "mocks.db"                 # optional: record every mock's traffic into this log
faults = "faults.toml"              # optional: the shared fault schedule ([[fault]] tables)
seed = 7

[mock.exchange]                     # optional per mock: port, profile, enabled
port = 0
profile = "my-exchange.toml"
```
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mocks.base import Mock, MockContext, MockError, MockSpec
from mocks.catalogue import MOCKS, find
from mocks.faults import FaultSchedule, load_schedule, parse_schedule
from mocks.profile import Fields, read_toml
from mocks.recording import LogRecorder
from system.clock import Clock

__all__ = ["MockPlan", "Planned", "plan_from_config", "run_mocks", "start_mocks", "stop_mocks"]


@dataclass(frozen=True)
class Planned:
    spec: MockSpec
    profile: dict[str, Any]
    port: int = 0


@dataclass
class MockPlan:
    mocks: list[Planned]
    clock: Clock
    seed: int = 0
    record: str | None = None
    faults: FaultSchedule | None = None
    targets: dict[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"


def load_profile_file(spec: MockSpec, path: str | None) -> dict[str, Any]:
    if path is None:
        return read_toml(spec.default_profile, f"{spec.name} default profile")
    p = Path(path)
    if not p.is_file():
        raise MockError(f"--profile {path!r}: no such file")
    return read_toml(p, "--profile")


def plan_from_config(path: str, make_clock: Callable[[dict[str, Any]], Clock]) -> MockPlan:
    """The plan of ``--all --config FILE``: every catalogued mock unless ``enabled = false``."""
    p = Path(path)
    if not p.is_file():
        raise MockError(f"--config {path!r}: no such file")
    raw = read_toml(p, "--config")
    top = Fields(raw, "")
    top.unknown({"clock", "targets", "record", "faults", "seed", "mock"})
    clock_t = top.sub("clock")
    clock_t.unknown({"follow", "start", "speed"})
    clock = make_clock(clock_t.t)
    targets_t = top.sub("targets")
    targets = {k: targets_t.text(k) for k in targets_t.t}
    mock_t = top.sub("mock")
    for name in mock_t.t:
        if find(name) is None:
            raise MockError(f"mock.{name}: no such mock (chronex mock list)")
    planned = []
    for spec in MOCKS:
        m = mock_t.sub(spec.name)
        m.unknown({"port", "profile", "enabled"})
        if not m.flag("enabled", True):
            continue
        prof = m.t.get("profile")
        if prof is not None and not isinstance(prof, str):
            raise MockError(f"mock.{spec.name}.profile: {prof!r} is not a path")
        if prof is not None and not Path(prof).is_absolute():
            prof = str(p.parent / prof)
        planned.append(Planned(spec, load_profile_file(spec, prof), m.integer("port", 0, low=0, high=65535)))
    faults = None
    if "faults" in raw:
        f = raw["faults"]
        if isinstance(f, str):
            fp = Path(f) if Path(f).is_absolute() else p.parent / f
            if not fp.is_file():
                raise MockError(f"faults {f!r}: no such file")
            faults = load_schedule(fp, clock)
        else:
            faults = parse_schedule({"fault": f}, clock, f"{path}: faults")
    record = top.text("record") if "record" in raw else None
    return MockPlan(
        planned, clock, seed=top.integer("seed", 0), record=record, faults=faults, targets=targets
    )


async def start_mocks(plan: MockPlan) -> tuple[list[Mock], LogRecorder | None]:
    """Build and start every planned mock (in catalogue order); on a failure the started ones are
    stopped and the ``MockError`` goes up."""
    recorder = LogRecorder(plan.record, plan.clock) if plan.record else None
    started: list[Mock] = []
    try:
        for pl in plan.mocks:
            ctx = MockContext(
                profile=pl.profile, clock=plan.clock, host=plan.host, port=pl.port, seed=plan.seed,
                faults=plan.faults, targets=dict(plan.targets),
            )  # fmt: skip
            if recorder is not None:
                ctx = replace(ctx, record=recorder)
            mock = pl.spec.build(ctx)
            await mock.start()
            started.append(mock)
    except BaseException:
        await stop_mocks(started, recorder)
        raise
    return started, recorder


async def stop_mocks(mocks: list[Mock], recorder: LogRecorder | None, *, timeout_s: float = 15.0) -> None:
    """Stop each mock (last started first); one that does not finish in ``timeout_s`` is named on
    stderr and left behind, so a SIGTERM always ends the process."""
    for m in reversed(mocks):
        try:
            await asyncio.wait_for(m.stop(), timeout_s)
        except TimeoutError:
            print(f"chronex mock: {m.name} did not stop within {timeout_s:g} s", file=sys.stderr)
        except Exception as e:  # one mock's failure must not keep the others running
            print(f"chronex mock: {m.name} failed while stopping: {e}", file=sys.stderr)
    if recorder is not None:
        recorder.close()


async def run_mocks(plan: MockPlan, ready: Callable[[dict[str, Any]], None], stop: asyncio.Event) -> None:
    """Start the plan, call ``ready`` with ``{name: endpoints}``, run until ``stop``, stop all."""
    mocks, recorder = await start_mocks(plan)
    flusher = None
    if recorder is not None:

        async def flush() -> None:
            while True:
                await asyncio.sleep(0.2)
                recorder.flush()

        flusher = asyncio.create_task(flush())
    try:
        ready({m.name: m.endpoints() for m in mocks})
        await stop.wait()
    finally:
        if flusher is not None:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
        await stop_mocks(mocks, recorder)
