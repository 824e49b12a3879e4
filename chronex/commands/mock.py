"""``chronex mock``: run the mocks of the systems around the venue (docs/mocks.md).

    chronex mock list
    chronex mock exchange [--port 9900] [--profile FILE] [--record LOG] [--faults FILE]
    chronex mock maker --target serve=127.0.0.1:9878 --follow 127.0.0.1:7001
    chronex mock --all --config mocks.toml
    chronex mock exchange --replay LOG [--port N]

A running set prints one JSON line when ready (``{"mocks": {name: endpoints}, "pid": N, ...}``)
and runs until SIGTERM or SIGINT, which stop every mock and flush the recording; exit 0.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from typing import Annotated, Any

import typer

from chronex.errors import BadInput


def mock(
    name: Annotated[str | None, typer.Argument(help="A mock's name, or 'list'.")] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Every mock of the catalogue (needs --config).")
    ] = False,
    config: Annotated[
        str | None, typer.Option(help="With --all: the set's TOML (clock, targets, mocks).")
    ] = None,
    port: Annotated[int, typer.Option(help="The mock's port (0: any free one).")] = 0,
    profile: Annotated[str | None, typer.Option(help="The mock's profile TOML (default: its own).")] = None,
    replay: Annotated[str | None, typer.Option(help="Play back the traffic recorded in this log.")] = None,
    record: Annotated[
        str | None, typer.Option(help="Record the traffic into this log (path or URL).")
    ] = None,
    faults: Annotated[str | None, typer.Option(help="A fault schedule TOML ([[fault]] tables).")] = None,
    follow: Annotated[
        str | None, typer.Option(help="host:port of chronex serve's admin channel: share its clock.")
    ] = None,
    start: Annotated[str | None, typer.Option(help="Own clock: start instant (default: now).")] = None,
    speed: Annotated[str, typer.Option(help="Own clock: virtual seconds per wall second.")] = "1",
    target: Annotated[
        list[str] | None, typer.Option(help="NAME=host:port a mock dials, e.g. serve=127.0.0.1:9878.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seeds every random choice of the mocks.")] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="With list: JSON.")] = False,
) -> None:
    """Run mocks of the systems around the venue: an exchange, market makers, an OEMS, crypto
    exchanges, a wallet, KYC onboarding and payments."""
    from mocks.base import MockError

    try:
        _mock(
            name,
            all_,
            config,
            port,
            profile,
            replay,
            record,
            faults,
            follow,
            start,
            speed,
            target,
            seed,
            json_out,
        )
    except MockError as e:
        raise BadInput(str(e)) from None


def _mock(
    name: str | None,
    all_: bool,
    config: str | None,
    port: int,
    profile: str | None,
    replay: str | None,
    record: str | None,
    faults: str | None,
    follow: str | None,
    start: str | None,
    speed: str,
    target: list[str] | None,
    seed: int,
    json_out: bool,
) -> None:
    from pathlib import Path

    from mocks.catalogue import MOCKS, find
    from mocks.faults import load_schedule
    from mocks.runner import MockPlan, Planned, load_profile_file, plan_from_config

    if name == "list":
        if json_out:
            print(json.dumps([{"name": s.name, "summary": s.summary} for s in MOCKS]))
        else:
            from rich.console import Console
            from rich.table import Table

            t = Table("mock", "what it imitates")
            for s in MOCKS:
                t.add_row(s.name, s.summary)
            Console().print(t)
        return
    if not 0 <= port <= 65535:
        raise BadInput(f"--port {port} is not a port (0-65535)")
    targets = _targets(target)
    if all_:
        if name is not None:
            raise BadInput(f"--all runs every mock: leave out the name {name!r}")
        if config is None:
            raise BadInput(
                "--all needs --config FILE (the set's clock, targets and mocks; see docs/mocks.md)"
            )
        plan = plan_from_config(config, _config_clock)
        plan.targets = {**plan.targets, **targets}
    else:
        if name is None:
            raise BadInput("name a mock (chronex mock list), or --all --config FILE")
        spec = find(name)
        if spec is None:
            raise BadInput(f"no mock named {name!r} (chronex mock list: {', '.join(s.name for s in MOCKS)})")
        if config is not None:
            raise BadInput("--config goes with --all; one mock takes --profile")
        clock = _clock(follow, start, speed)
        if replay is not None:
            _replay(spec, replay, port, targets, clock)
            return
        plan = MockPlan(
            [Planned(spec, load_profile_file(spec, profile), port)], clock, seed=seed, targets=targets
        )
        plan.record = record
        if faults is not None:
            if not Path(faults).is_file():
                raise BadInput(f"--faults {faults!r}: no such file")
            plan.faults = load_schedule(Path(faults), clock)
    _run(plan)


def _targets(items: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for t in items or ():
        key, eq, addr = t.partition("=")
        host, _, p = addr.rpartition(":")
        if not eq or not key or not host or not p.isdigit() or not 0 < int(p) < 65536:
            raise BadInput(f"--target {t!r} is not NAME=host:port")
        out[key] = addr
    return out


def _clock(follow: str | None, start: str | None, speed: str) -> Any:
    from mocks.clocks import FollowClock, PacedClock
    from system.clock import WallClock

    if follow is not None:
        if start is not None:
            raise BadInput("--follow shares chronex serve's clock: leave out --start")
        return FollowClock(follow)
    from chronex.timearg import parse_instant

    wall = WallClock()
    t0 = parse_instant(start, what="--start") if start else wall.now_ns()
    try:
        return PacedClock(wall, start_ns=t0, speed=speed)
    except (ValueError, ZeroDivisionError):
        raise BadInput(f"--speed {speed!r} is not a positive number") from None


def _config_clock(t: dict[str, Any]) -> Any:
    from mocks.profile import parse_instant

    follow = t.get("follow")
    if follow is not None and not isinstance(follow, str):
        raise BadInput(f"clock.follow {follow!r} is not host:port")
    start = t.get("start")
    speed = t.get("speed", 1)
    if isinstance(speed, bool) or not isinstance(speed, int | float | str):
        raise BadInput(f"clock.speed {speed!r} is not a number")
    if follow is not None:
        return _clock(follow, None, "1")
    from mocks.clocks import PacedClock
    from system.clock import WallClock

    wall = WallClock()
    t0 = parse_instant(start, "clock.start") if start is not None else wall.now_ns()
    try:
        return PacedClock(wall, start_ns=t0, speed=str(speed))
    except (ValueError, ZeroDivisionError):
        raise BadInput(f"clock.speed {speed!r} is not a positive number") from None


def _signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


def _run(plan: Any) -> None:
    from mocks.runner import run_mocks

    if plan.record:
        from system.eventlog.fresh import log_file

        path = log_file(plan.record)
        # A recording is a run of its own: appended to another log it would follow that log's
        # RunFinished (or interleave with the writer that holds it).
        if path is not None and path.exists():
            raise BadInput(f"--record {plan.record!r} already exists (record into a new log)")
    clock = plan.clock

    async def main() -> None:
        stop = asyncio.Event()
        _signals(stop)

        def ready(endpoints: dict[str, Any]) -> None:
            line = {
                "mocks": endpoints,
                "pid": os.getpid(),
                "clock": type(clock).__name__,
                "now": clock.now_ns(),
            }
            if plan.record:
                line["record"] = plan.record
            print(json.dumps(line), flush=True)

        await run_mocks(plan, ready, stop)

    try:
        asyncio.run(main())
    finally:
        close = getattr(clock, "close", None)
        if close is not None:
            close()


def _replay(spec: Any, log: str, port: int, targets: dict[str, str], clock: Any) -> None:
    from mocks.recording import read_traffic, replay

    traffic = read_traffic(log, spec.name, clock)
    host, tport = "127.0.0.1", port
    if spec.replay_role == "http":
        _replay_http(spec, traffic, port)
        return
    if spec.replay_role == "dial":
        if "serve" not in targets:
            raise BadInput(f"--replay of {spec.name} dials out: give --target serve=host:port")
        host, _, p = targets["serve"].rpartition(":")
        tport = int(p)

    async def main() -> int:
        stop = asyncio.Event()
        _signals(stop)

        def ready(bound: int) -> None:
            print(json.dumps({"replay": spec.name, "port": bound, "pid": os.getpid()}), flush=True)

        if spec.replay_role == "dial":
            print(
                json.dumps({"replay": spec.name, "target": targets["serve"], "pid": os.getpid()}), flush=True
            )
        try:
            return await replay(traffic, spec.replay_role, host=host, port=tport, ready=ready, stop=stop)
        except OSError as e:
            raise BadInput(f"--replay {spec.name}: {e.strerror or e}") from None

    played = asyncio.run(main())
    print(json.dumps({"replayed": played}), flush=True)


def _replay_http(spec: Any, traffic: Any, port: int) -> None:
    from mocks.httpreplay import exchanges, serve_http_replay

    recorded = exchanges(traffic)

    async def main() -> int:
        stop = asyncio.Event()
        _signals(stop)

        def ready(bound: int) -> None:
            print(json.dumps({"replay": spec.name, "port": bound, "pid": os.getpid()}), flush=True)

        return await serve_http_replay(recorded, port=port, ready=ready, stop=stop)

    played = asyncio.run(main())
    print(json.dumps({"replayed": played}), flush=True)


def register(app: typer.Typer) -> None:
    app.command("mock")(mock)
