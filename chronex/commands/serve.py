"""``chronex serve``: the trading system on the wire, on a clock the client controls (or the wall's).

    chronex serve --venue XTKS --instruments 7203,6758 --log day.db --fix-port 9878 \\
        --sessions sessions.toml --clock virtual
    chronex serve --venue XTKS --clock paced --start 2031-01-06T08:55+09:00 --speed 60

The process prints one JSON line when it is ready (``{"fix_port": N, "admin_port": M, ...}``) and
runs until SIGTERM or SIGINT, which shut it down gracefully: queued commands finish, FIX sessions
are logged out, the log is flushed and closed. A restart over the same log resumes its state.
A served log is live: the process holds an exclusive lock on ``<log>.lock`` while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import signal
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer

from chronex.addrarg import host_port
from chronex.errors import BadInput
from chronex.timearg import parse_instant
from sim.clock.scheduler import SessionScheduler
from sim.world import World
from system.bootstrap import SystemConfig
from system.clock import WallClock
from system.engine import ChangePhase, Phase, PhaseChanged
from system.engine.deviations import REFERENCE, Rules, parse_differences
from system.eventlog import EventLogError, open_log
from system.runtime import Outcome
from system.server.admin import AdminServer
from system.server.clockmode import ClockModeError
from system.server.server import Server, make_clock_mode


class ServedWorld(World):
    """A World that does not log a start-up phase sync the log already holds: a restart over a
    live log must append nothing, so the head hash is the one the last run left."""

    on_outcome: Any = None  # called with every command's Outcome, timers' included

    def execute(self, command: Any, **kw: Any) -> Any:
        if (
            isinstance(command, ChangePhase)
            and command.reason == "sync at start"
            and command.instrument is None
            and self.store.head().seq
            and self.engine.phase_of_venue(command.venue) is command.phase
        ):
            return Outcome(0, [])
        out = super().execute(command, **kw)
        if self.on_outcome is not None and out.events:
            self.on_outcome(out)
        return out


class WorldHost:
    """``sim.world.World`` as a server host: the world plus venue calendars added later."""

    def __init__(self, world: World, *, history: bool = False) -> None:
        self.world = world
        self.store = world.store
        self._extra: list[SessionScheduler] = []
        # Book after every command that touched it (the BDD driver's book_history); test servers only.
        self.history: dict[str, list[tuple[int, int, Any]]] | None = {} if history else None
        if history and isinstance(world, ServedWorld):
            world.on_outcome = self._record

    @property
    def runtime(self) -> Any:
        return self.world.runtime

    @property
    def engine(self) -> Any:
        return self.world.engine

    @property
    def clock(self) -> Any:
        return self.world.clock

    def execute(self, command: Any, **kw: Any) -> Any:
        return self.world.execute(command, **kw)

    def _record(self, out: Any) -> None:
        assert self.history is not None
        eng = self.world.engine
        touched: list[str] = []
        for ev in out.events:
            rec = ev.record
            if isinstance(rec, PhaseChanged) and rec.instrument is None:
                ids = [i for i in eng.instrument_ids() if eng.books[i].inst.venue == rec.venue]
            elif ev.stream.startswith("book/"):
                ids = [ev.stream[5:]]
            else:
                continue
            touched.extend(i for i in ids if i not in touched)
        now = self.world.now()
        seq = out.events[-1].seq
        for i in touched:
            if eng.has_instrument(i):
                self.history.setdefault(i, []).append((seq, now, eng.book(i)))

    def book_history(self, instrument: str) -> list[tuple[int, int, Any]]:
        return list((self.history or {}).get(instrument, []))

    def add_venue(self, venue: str) -> None:
        sched = SessionScheduler(self.world.clock, self.world, [venue])
        sched.start()
        self._extra.append(sched)

    def next_phase_time(self, venue: str, phase: Phase, after: int) -> int | None:
        from sim.clock import venue_calendar
        from sim.clock.calendar import CalendarError

        try:
            cal = venue_calendar(venue)
        except CalendarError as e:  # a client's bad venue: its 4xx / admin error, not a crash
            raise ClockModeError(str(e)) from None
        for tr, _ in cal.transitions(after + 1, after + 14 * 86_400 * 10**9):
            if tr.phase is phase:
                return int(tr.at)
        return None

    def snapshot(self) -> int:
        return int(self.world.runtime.snapshot())

    def close(self) -> None:
        for s in self._extra:
            s.stop()
        self.world.close()


def world_host(spec: dict[str, Any], rules: Rules = REFERENCE) -> WorldHost:
    """A fresh host from a reset spec: ``config`` (canonical SystemConfig), ``start_ns``, ``log``;
    a served mock's rule differences survive the reset."""
    config = msgspec.msgpack.decode(bytes(spec["config"]), type=SystemConfig)
    log = spec.get("log") or "memory://"
    world = ServedWorld(config, start_ns=int(spec["start_ns"]), log=str(log), rules=rules)
    return WorldHost(world, history=True)


def _is_file(log: str) -> bool:
    """A SQLite file (path or sqlite:/// URL), as opposed to memory:// or a server's URL."""
    return "://" not in log or log.startswith("sqlite:///")


def _exists(log: str) -> bool:
    """Whether ``log`` already holds a log to resume (a file, or a server schema with entries)."""
    if log.startswith("memory://"):
        return False
    if _is_file(log):
        return Path(log.removeprefix("sqlite:///")).exists()
    try:
        store = open_log(log, WallClock(), create=False)
    except Exception:
        return False
    try:
        return store.head().seq > 0
    finally:
        store.close()


def _resume_time(log: str, start_ns: int) -> int:
    """Where the clock starts over an existing log: never before the last entry's time."""
    if not _exists(log):
        return start_ns
    store = open_log(log, WallClock(), create=False)
    try:
        head = store.head().seq
        last = max((ev.valid_time for ev in store.read(head)), default=start_ns) if head else start_ns
    finally:
        store.close()
    return max(start_ns, last)


def _lock(log: str) -> Any:
    """Hold the log's writer lock (the same ``WriterLock`` every writing command takes): two
    servers, or a server and a ``sim``, must never append to one live log. A PostgreSQL log needs
    no file: its store refuses a second writer (an advisory lock)."""
    from system.eventlog.fresh import log_file
    from system.eventlog.lock import WriterLock

    path = log_file(log) if _is_file(log) else None
    if path is None:
        return None
    try:
        return WriterLock(path).acquire()
    except EventLogError as e:
        raise BadInput(f"--log {log!r} is being served by another process: {e}") from None


def _instruments(venue: str, refs: list[str]) -> tuple[Any, ...]:
    from sim.markets import ProfileError, load_profile

    try:
        return load_profile(venue).select(refs or None).instruments
    except ProfileError as e:
        raise BadInput(str(e)) from None


async def _serve(
    server: Server,
    admin: AdminServer,
    fix: Any,
    ready: dict[str, Any],
    rest: Any = None,
    feed: Any = None,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    try:
        await admin.start()
        ready["admin_port"] = admin.port
        if fix is not None:
            await fix.start()
            ready["fix_port"] = fix.port
        if rest is not None:
            await rest.start()
            ready["rest_port"] = rest.port
        if feed is not None:
            ready.update(await feed.start())
    except OSError as e:  # a port in use, or an address not this host's
        await server.stop()
        raise BadInput(f"cannot listen: {e.strerror or e} (check the --*-port options)") from None
    server.info.update(ready)
    print(json.dumps(ready), flush=True)
    await stop.wait()
    # Graceful: no new input, sessions logged out, queued work finished, the log closed.
    await admin.stop()
    if rest is not None:
        with contextlib.suppress(Exception):
            await rest.stop()
    if fix is not None:
        with contextlib.suppress(Exception):
            await fix.stop()
    if feed is not None:
        with contextlib.suppress(Exception):
            await feed.stop()
    await server.stop()


def serve(
    venue: Annotated[str, typer.Option(help="Venue profile: XTKS, CME, FX-JP, CRYPTO or a .toml.")] = "XTKS",
    instruments: Annotated[
        list[str] | None, typer.Option(help="Instruments by symbol or id, comma-separated (default: all).")
    ] = None,
    log: Annotated[str | None, typer.Option(help="Event log (path or URL; default in memory).")] = None,
    fix_port: Annotated[int | None, typer.Option(help="FIX acceptor port (0: any free one).")] = None,
    admin_port: Annotated[int, typer.Option(help="Admin channel port (0: any free one).")] = 0,
    config: Annotated[str | None, typer.Option(help="Run TOML with \\[risk] and/or \\[pricing].")] = None,
    sessions: Annotated[str | None, typer.Option(help="FIX sessions TOML (CompIDs, accounts).")] = None,
    clock: Annotated[str, typer.Option(help="virtual (default), paced or wall.")] = "virtual",
    start: Annotated[
        str | None, typer.Option(help="Virtual start, e.g. 2031-01-06T08:55+09:00 (default: now).")
    ] = None,
    speed: Annotated[str, typer.Option(help="Paced clock: virtual seconds per wall second.")] = "1",
    fix_profile: Annotated[str | None, typer.Option(help="'acceptance': QuickFIX's test app.")] = None,
    snapshot_every: Annotated[int, typer.Option(help="Snapshots at least N log entries apart.")] = 5000,
    calendar: Annotated[bool, typer.Option(help="Let the venue's calendar drive the phases.")] = True,
    allow_reset: Annotated[bool, typer.Option(help="Accept the admin 'reset' op (BDD driver).")] = False,
    rest_port: Annotated[int | None, typer.Option(help="REST and streaming port (0: any free one).")] = None,
    api_keys: Annotated[str | None, typer.Option(help="API keys TOML for REST (roles, accounts).")] = None,
    archive: Annotated[str | None, typer.Option(help="Live archive: postgresql://...?schema=NAME.")] = None,
    nats: Annotated[str | None, typer.Option(help="Publish the log to JetStream: nats://host:4222.")] = None,
    redis: Annotated[str | None, typer.Option(help="Redis read models: redis://host:6379.")] = None,
    influx: Annotated[
        str | None, typer.Option(help="OHLC bars to InfluxDB 1.x: http://host:8086/db.")
    ] = None,
    otlp: Annotated[str | None, typer.Option(help="OTLP/HTTP collector for traces and metrics.")] = None,
    trace: Annotated[str | None, typer.Option(help="'console': print spans and metrics.")] = None,
    fix_store: Annotated[str | None, typer.Option(help="FIX message store: file:DIR or memory:.")] = None,
    status: Annotated[
        bool, typer.Option(help="Print a running server's status (--admin-port) and exit.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="With --status: one JSON object.")] = False,
    faults: Annotated[
        str | None, typer.Option(help="FIX fault plan TOML: drop, delay, duplicate, garble, disconnect.")
    ] = None,
    warm: Annotated[
        bool, typer.Option("--warm-start/--cold-start", help="Restart from the latest snapshots.")
    ] = True,
    rule_difference: Annotated[
        str | None,
        typer.Option(
            help="A mock venue deviating on purpose (tests of the oracle): replace-keeps-priority, "
            "reprice-keeps-priority, stp-cancel-oldest, tick-off-by-one (comma-separated)."
        ),
    ] = None,
    itch_port: Annotated[
        int | None, typer.Option(help="ITCH 5.0 over SoupBinTCP (0: any free port).")
    ] = None,
    glimpse_port: Annotated[int | None, typer.Option(help="GLIMPSE snapshots (0: any free port).")] = None,
    mold_port: Annotated[
        int | None, typer.Option(help="MoldUDP64 retransmission port (0: any free one); see --mold-to.")
    ] = None,
    mold_to: Annotated[
        list[str] | None,
        typer.Option(help="host:port, or a multicast group:port, the MoldUDP64 stream goes to (repeatable)."),
    ] = None,
) -> None:
    """Serve a venue: the sequencer, the admin channel and the FIX gateway over one log."""
    from sim.replay import recorded_config
    from system.pricing import load_pricing
    from system.pricing.tomlfile import ConfigError
    from system.risk import load_risk

    if status:
        from chronex.serving import print_status

        if not admin_port:
            raise BadInput("--status needs --admin-port PORT of the running server")
        print_status(admin_port, as_json=json_out)
        return
    try:
        rules = Rules(parse_differences(rule_difference))
    except ValueError as e:
        raise BadInput(f"--rule-difference: {e}") from None
    if clock not in ("virtual", "paced", "wall"):
        raise BadInput(f"--clock {clock!r} is not a clock mode (use virtual, paced or wall)")
    wall = WallClock()
    start_ns = parse_instant(start, what="--start") if start else wall.now_ns()
    risk = pricing = None
    if config is not None:
        if not Path(config).is_file():
            raise BadInput(f"--config {config!r}: no such file")
        try:
            risk, pricing = load_risk(config), load_pricing(config)
        except ConfigError as e:
            raise BadInput(str(e)) from None
    refs = [v.strip() for item in instruments or () for v in item.split(",") if v.strip()]
    insts = _instruments(venue, refs)
    url = log or "memory://"
    if "://" not in url and not Path(url).parent.exists():
        raise BadInput(f"--log {url!r}: directory {str(Path(url).parent)!r} does not exist")
    for flag, port in (
        ("--fix-port", fix_port),
        ("--admin-port", admin_port),
        ("--itch-port", itch_port),
        ("--glimpse-port", glimpse_port),
        ("--mold-port", mold_port),
    ):
        if port is not None and not 0 <= port <= 65535:
            raise BadInput(f"{flag} {port} is not a port (0-65535; 0 takes any free one)")
    if sessions is not None and fix_port is None:
        raise BadInput("--sessions configures the FIX acceptor: give --fix-port as well")
    if mold_to and mold_port is None:
        raise BadInput("--mold-to names where MoldUDP64 goes: give --mold-port (its retransmission port)")
    for target in mold_to or ():
        host_port("--mold-to", target)
    if snapshot_every < 0:
        raise BadInput(f"--snapshot-every {snapshot_every} must be 0 (none) or more")
    keys = _api_keys(rest_port, api_keys)
    if rest_port is not None:
        from system.gateways.rest.gateway import check_switches

        try:
            check_switches()
        except ValueError as e:
            raise BadInput(str(e)) from None
    held = _lock(url)
    venues = (insts[0].venue,) if insts and calendar else ()
    cfg = SystemConfig(
        instruments=insts,
        venues=venues,
        default_phase=Phase.CLOSED if venues else Phase.CONTINUOUS,
        risk=risk,
        pricing=pricing,
        snapshot_every=snapshot_every,
        label=f"serve {venue}",
    )
    t0 = _resume_time(url, start_ns)
    new_file = _is_file(url) and not _exists(url)  # a failed start removes what it created
    if _exists(url):
        # A restart: the system is the one the log was made with, not today's flags.
        probe = open_log(url, WallClock(), create=False)
        try:
            if probe.head().seq:
                cfg = recorded_config(probe)
        finally:
            probe.close()
    world = ServedWorld(cfg, start_ns=t0, log=url, warm_start=warm, rules=rules)
    claim = getattr(world.store, "claim", None)  # a server log (PostgreSQL): its writer lock, now
    if claim is not None:
        try:
            claim()
        except EventLogError as e:
            world.close()
            raise BadInput(f"--log {url!r} is being served by another process: {e}") from None
    host = WorldHost(world)
    try:
        mode = make_clock_mode(clock, world.clock, wall, start_ns=t0, speed=speed)
    except (ClockModeError, ValueError, ZeroDivisionError) as e:
        _abandon(world, url, new_file, held)
        raise BadInput(f"--speed {speed!r}: {e}") from None
    from chronex.serving import attach_services, tracing

    try:
        telemetry, shutdown = tracing(otlp, trace)
    except BadInput:
        _abandon(world, url, new_file, held)
        raise
    server = Server(
        host,
        mode,
        factory=functools.partial(world_host, rules=rules) if allow_reset else None,
        group_commit=not allow_reset,
        telemetry=telemetry,
    )
    services = []
    try:
        services = attach_services(server, url, archive=archive, nats=nats, redis=redis, influx=influx)
        admin = AdminServer(server, port=admin_port)
        fix = _fix_gateway(server, sessions, fix_port, fix_profile, wall, fix_store)
        if fix is not None:
            server.gateways["fix"] = fix
        if faults is not None:
            _install_faults(fix, faults)
        rest = None
        if rest_port is not None:
            from system.gateways.rest import RestGateway

            rest = RestGateway(server, keys, port=rest_port)
        feed = _feed_gateway(server, venue, insts, itch_port, glimpse_port, mold_port, mold_to)
    except Exception:  # bad input, or a failure we did not foresee: either way no log is left
        for bg in services:
            bg.close(timeout=1.0)
        _abandon(world, url, new_file, held)
        raise
    ready: dict[str, Any] = {"clock": clock, "log": url, "seq": world.store.head().seq, "pid": os.getpid()}
    from chronex.serving import tune_gc

    tune_gc()
    try:
        asyncio.run(_serve(server, admin, fix, ready, rest, feed))
    except BadInput:
        for bg in services:
            bg.close(timeout=1.0)
        services = []
        _abandon(world, url, new_file, held)
        raise
    finally:
        for bg in services:  # what the sequencer queued for them goes out before the exit
            bg.close()
        shutdown()
        if held is not None:
            held.release()


def _abandon(world: Any, url: str, new_file: bool, held: Any) -> None:
    """A start-up that failed after the log was opened: close it and, if this start created the
    file, remove it with its side files, so bad input leaves no log behind."""
    world.close()
    if new_file:
        import shutil

        from chronex.fleet.atomic import discard
        from system.eventlog.fresh import log_file

        path = log_file(url)
        if path is not None:
            discard(path)
            shutil.rmtree(f"{path}.fix", ignore_errors=True)  # the FIX store beside the log
    if held is not None:
        held.release()


def _fix_gateway(
    server: Server,
    sessions: str | None,
    port: int | None,
    profile: str | None,
    wall: Any,
    store: str | None = None,
) -> Any:
    """The FIX acceptor over this server, or None when no FIX port was asked for."""
    if port is None:
        return None
    from system.gateways.fix.served import build_acceptor

    try:
        return build_acceptor(server, sessions=sessions, port=port, profile=profile, wall=wall, store=store)
    except ValueError as e:
        raise BadInput(str(e)) from None


def _api_keys(port: int | None, path: str | None) -> Any:
    """The REST keys, checked before anything is opened (a bad file is exit 2, nothing served)."""
    if port is None:
        if path is not None:
            raise BadInput("--api-keys needs --rest-port")
        return None
    if path is None:
        raise BadInput("--rest-port needs --api-keys (a TOML of keys and roles, see docs/rest.md)")
    if not 0 <= port <= 65535:
        raise BadInput(f"--rest-port {port} is not a port (0-65535)")
    from system.gateways.rest import KeysFileError, load_keys

    try:
        return load_keys(path)
    except KeysFileError as e:
        raise BadInput(str(e)) from None


def _install_faults(fix: Any, path: str) -> None:
    """``--faults FILE`` on the FIX gateway, measured on the server's clock."""
    from system.gateways.fix.faults import FaultConfigError, load_faults

    if fix is None:
        raise BadInput(f"--faults {path!r} needs --fix-port (faults act on the FIX links)")
    try:
        fix.install_faults(load_faults(Path(path), fix.clock))
    except FaultConfigError as e:
        raise BadInput(str(e)) from None


def _feed_gateway(
    server: Server,
    venue: str,
    insts: tuple[Any, ...],
    itch: int | None,
    glimpse: int | None,
    mold: int | None,
    mold_to: list[str] | None,
) -> Any:
    """The ITCH feeds over this server, or None when no feed port was asked for."""
    if itch is None and glimpse is None and mold is None:
        return None
    from sim.clock import venue_calendar
    from sim.markets import load_profile
    from system.gateways.itch.gateway import FeedGateway

    targets = [host_port("--mold-to", t) for t in mold_to or ()]
    if mold is not None and not targets:
        raise BadInput("--mold-port needs at least one --mold-to host:port to send the stream to")
    tz = venue_calendar(load_profile(venue).calendar).tz
    return FeedGateway(
        server,
        tz,
        [i.id for i in insts],
        itch_port=itch,
        glimpse_port=glimpse,
        mold_port=mold,
        mold_targets=targets,
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
