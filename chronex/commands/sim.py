"""``chronex sim``: simulate a venue's trading day into an event log, then summarise it.

    chronex sim --venue XTKS --date 2027-01-04 --instruments 7203,6758 --seed 7 --log day.db

The same command gives a log with the same head hash. Bad input (venue, date, instrument, time)
is one line and exit 2. A file log appears only when the day ends cleanly (its last entry is
RunFinished); an existing one is refused unless --overwrite, and so is a log another writer holds.
"""

from __future__ import annotations

import contextlib
import re
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
from rich.console import Console
from rich.measure import Measurement
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from chronex.errors import BadInput
from chronex.outpath import not_a_database
from chronex.timearg import parse_date, parse_instant
from sim.clock import CalendarError
from sim.markets import FlowError, ProfileError, SimulatedDay, SimulatorError, load_profile, simulated_day
from sim.markets.simulator import check_activity, check_seed
from system.clock import FixedClock, iso
from system.engine import price_to_decimal, qty_to_decimal
from system.eventlog import EventLogError, NotAnEventLog, drop_log, open_log
from system.eventlog.fresh import fresh_log, log_file

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
_MAX_WIDTH = 400
_BARE_TIME = re.compile(r"^\d{1,2}:\d{2}(:\d{2}(\.\d{1,9})?)?$")


def _instant(text: str | None, what: str, on: date, tz: str, span: tuple[int, int] | None) -> int | None:
    """``text`` as ns: ISO with an offset, 'HH:MM Zone', or bare 'HH:MM' in the venue's zone. A bare
    time is the first such instant within the session ``span`` (Globex and FX days start the
    evening before their trade date)."""
    if text is None:
        return None
    s = text.strip()
    if not _BARE_TIME.match(s):
        return parse_instant(s, on=on, what=what)
    cands = []
    for d in (-1, 0, 1):
        try:
            day = on + timedelta(days=d)
        except OverflowError:  # date.min / date.max: no day beyond
            continue
        cands.append(parse_instant(f"{s} {tz}", on=day, what=what))
    if span is not None:
        for t in cands:
            if span[0] <= t <= span[1]:
                return t
    return cands[1] if len(cands) == 3 else cands[0]


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or () for v in item.split(",") if v.strip()]


def _prepare_server_log(log: str, overwrite: bool) -> str:
    """A log on a server (PostgreSQL): refuse one that already holds entries unless
    ``--overwrite``. Returns where the run writes: a schema beside the target, put in its place
    only once the day has run cleanly (``publish``), as a file is written aside and moved."""
    from system.eventlog.postgres import partial_url

    try:
        with open_log(log, FixedClock(0), create=False) as existing:
            held = existing.head().seq
    except NotAnEventLog:
        held = 0  # nothing there yet
    if held and not overwrite:
        raise BadInput(f"--log {log!r} already holds {held} events (use --overwrite to replace it)")
    aside = partial_url(log)
    with contextlib.suppress(NotAnEventLog, EventLogError):
        drop_log(aside)  # a dead run's, of this pid
    return aside


def _run_config(path: str | None) -> tuple[Any, Any]:
    """The [risk] and [pricing] tables of a run's TOML file (None where absent)."""
    if path is None:
        return None, None
    from chronex.commands.config import check_file
    from system.pricing import load_pricing
    from system.pricing.tomlfile import ConfigError
    from system.risk import load_risk

    if not Path(path).is_file():
        raise BadInput(f"--config {path!r}: no such file")
    check_file(path, "run")  # names a misspelt table, which the loaders would skip
    try:
        return load_risk(path), load_pricing(path)
    except ConfigError as e:
        raise BadInput(str(e)) from None


def _summary(day: SimulatedDay, wall_s: float, log: str) -> dict[str, Any]:
    stats = day.simulator.stats
    head = day.world.store.head()
    insts: dict[str, Any] = {}
    tz = day.session.tz
    for spec in day.profile.specs:
        inst = spec.instrument
        d = stats.day(inst.id)

        def px(p: int | None, inst: Any = inst) -> str | None:
            return None if p is None else str(price_to_decimal(inst, p))

        insts[inst.id] = {
            "name": spec.name,
            "orders": d.orders,
            "rejected": d.rejected,
            "cancelled": d.cancelled,
            "replaced": d.replaced,
            "trades": d.trades,
            "volume": str(qty_to_decimal(inst, d.volume)),
            "open": px(d.open),
            "high": px(d.high),
            "low": px(d.low),
            "close": px(d.close),
            "auctions": [
                {"phase": ph, "at": iso(t, tz), "price": px(p), "qty": str(qty_to_decimal(inst, q))}
                for ph, p, q, t in d.auctions
            ],
        }
    sim_s = (day.end_ns - day.start_ns) / 1e9
    return {
        "venue": day.profile.name,
        "date": day.trade_date.isoformat(),
        "seed": day.simulator.seed,
        "from": iso(day.start_ns, day.session.tz),
        "until": iso(day.end_ns, day.session.tz),
        "log": log,
        "events": head.seq,
        "commands": dict(sorted(stats.commands.items())),
        "head_hash": head.hash.hex(),
        "wall_seconds": round(wall_s, 3),
        "sim_to_wall": round(sim_s / wall_s, 1) if wall_s > 0 else None,
        "instruments": insts,
    }


def _print(summary: dict[str, Any]) -> None:
    title = f"{summary['venue']} {summary['date']} seed {summary['seed']}"
    t = Table(title=f"{title}: {summary['from']} .. {summary['until']}")
    t.add_column("instrument", no_wrap=True)
    for col in ("orders", "trades", "volume", "open", "high", "low", "close"):
        t.add_column(col, justify="right", no_wrap=True)
    for iid, d in summary["instruments"].items():
        t.add_row(
            iid, str(d["orders"]), str(d["trades"]), d["volume"],
            *(d[k] or "-" for k in ("open", "high", "low", "close")),
        )  # fmt: skip
    _print_whole(t)
    # A venue with a lunch break has two of each (XTKS: 09:00 and 12:30 openings, 11:30 and 15:30
    # closings): the local time of each uncross says which one a row is.
    auctions = Table(title="auctions (qty 0: nothing crossed)")
    for col in ("instrument", "at", "auction", "price", "qty"):
        auctions.add_column(col, justify="right" if col in ("price", "qty") else "left", no_wrap=True)
    for iid, d in summary["instruments"].items():
        for a in d["auctions"]:
            kind = a["phase"].removesuffix("_AUCTION").lower().replace("_", " ")
            auctions.add_row(iid, a["at"][11:19], kind, a["price"] or "-", a["qty"])
    _print_whole(auctions)
    cmds = ", ".join(f"{k} {v}" for k, v in summary["commands"].items())
    out.print(f"commands: {cmds}")
    out.print(f"wall {summary['wall_seconds']} s, {summary['sim_to_wall']}x real time")
    if "feed" in summary:
        out.print(f"ITCH feed: {summary['feed']['messages']:,} messages in {summary['feed']['path']}")
    # typer.echo, not rich: one unwrapped line scripts can read the hash from.
    typer.echo(f"{summary['log']}: {summary['events']} events, head hash {summary['head_hash']}")


def _print_whole(table: Table) -> None:
    """Print ``table`` at its natural width even past the terminal's (80 columns cut prices)."""
    wide = Console(highlight=False, width=_MAX_WIDTH)
    natural = Measurement.get(wide, wide.options, table).maximum
    if natural <= out.width:
        out.print(table)
    else:
        Console(highlight=False, width=natural, file=out.file).print(table)


def sim(
    venue: Annotated[str, typer.Option(help="Venue profile: XTKS, CME, FX-JP, CRYPTO or a .toml path.")],
    date_: Annotated[str, typer.Option("--date", help="Trade date, YYYY-MM-DD.")],
    instruments: Annotated[
        list[str] | None, typer.Option(help="Instruments by symbol or id, comma-separated (default: all).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Run seed: the same seed gives the same log.")] = 0,
    from_: Annotated[
        str | None, typer.Option("--from", help="Start time (default: the pre-open), e.g. 08:55 or ISO.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="End time (default: the close), e.g. 09:05 or ISO.")
    ] = None,
    log: Annotated[
        str | None, typer.Option(help="Event log to write (a path or URL; default in memory).")
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(help="Replace the log and the --feed file if they exist (once the day ran cleanly)."),
    ] = False,
    config: Annotated[
        str | None,
        typer.Option(help="Run TOML with \\[risk] and/or \\[pricing] tables (those engines then run)."),
    ] = None,
    activity: Annotated[
        float, typer.Option(help="Scale every agent's order rate (1.0: the profile's).")
    ] = 1.0,
    json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    feed: Annotated[
        str | None, typer.Option(help="Also write the day's ITCH 5.0 file (length-prefixed messages).")
    ] = None,
) -> None:
    """Simulate a trading day of a venue into an event log and print what happened."""
    if log is not None and not log.strip():
        raise BadInput("--log '' names no log (leave it out for one in memory)")
    if feed is not None and (Path(feed).is_dir() or not Path(feed).resolve().parent.is_dir()):
        raise BadInput(f"--feed {feed!r}: not a file in an existing directory")
    if feed is not None and log is not None and Path(feed).resolve() == Path(log).resolve():
        raise BadInput(f"--feed {feed!r} is the --log file: give the ITCH file a name of its own")
    if feed is not None and Path(feed).exists() and not overwrite:
        raise BadInput(f"--feed {feed!r} already exists (use --overwrite to replace it)")
    if feed is not None:
        not_a_database(Path(feed), "--feed")
    trade_date = parse_date(date_, "--date")
    try:
        check_seed(seed)
    except SimulatorError as e:
        raise BadInput(f"--seed {seed}: {str(e).split(': ', 1)[-1]}") from None
    try:
        check_activity(activity)
    except SimulatorError as e:
        raise BadInput(f"--activity {activity:g}: {str(e).split(': ', 1)[-1]}") from None
    try:
        profile = load_profile(venue)
        from sim.clock import venue_calendar

        cal = venue_calendar(profile.calendar)
        tz = cal.tz
        try:
            session = cal.session(trade_date)
        except CalendarError as e:  # outside the calendar's horizon: nothing to simulate
            raise BadInput(str(e)) from None
        span = None if session is None else (session.transitions[0].at, session.close)
        start = _instant(from_, "--from", trade_date, tz, span)
        end = _instant(until, "--until", trade_date, tz, span)
        risk, pricing = _run_config(config)
    except (ProfileError, SimulatorError, FlowError) as e:
        raise BadInput(str(e)) from None
    aside = None
    if log and "://" in log and not log.lower().startswith("memory://") and log_file(log) is None:
        aside = _prepare_server_log(log, overwrite)
    try:
        summary = _simulate(
            aside or log or "memory://", venue, trade_date, instruments, seed, start, end, activity,
            risk, pricing, overwrite, profile.name, tz, quiet or json, feed,
        )  # fmt: skip
    except BaseException:
        if aside is not None:
            with contextlib.suppress(Exception):
                drop_log(aside)
        raise
    if aside is not None:
        from system.eventlog.postgres import publish

        publish(aside, log)  # type: ignore[arg-type]  # aside is set only with a server log
        summary["log"] = log
    if json:
        typer.echo(msgspec.json.encode(summary).decode())
    else:
        _print(summary)


def _simulate(
    url: str, venue: str, trade_date: date, instruments: list[str] | None, seed: int, start: Any,
    end: Any, activity: float, risk: Any, pricing: Any, overwrite: bool, name: str, tz: str,
    quiet: bool, feed: str | None,
) -> dict[str, Any]:  # fmt: skip
    """Run the day into ``url`` (through a temporary file for a file log) and summarise it."""
    with fresh_log(url, overwrite=overwrite, option="--log") as target:
        try:
            day = simulated_day(
                venue,
                trade_date,
                instruments=_split(instruments),
                seed=seed,
                log=target.url,
                start_ns=start,
                until_ns=end,
                activity=activity,
                risk=risk,
                pricing=pricing,
            )
        except (ProfileError, SimulatorError, FlowError) as e:
            raise BadInput(str(e)) from None
        wall0 = time.perf_counter()
        try:
            _run(day, name, trade_date, tz, quiet)
            day.finish()
            summary = _summary(day, time.perf_counter() - wall0, target.target)
            if feed is not None:
                summary["feed"] = _write_feed(day, feed)
        finally:
            day.close()
    return summary


def _run(day: SimulatedDay, name: str, trade_date: date, tz: str, quiet: bool) -> None:
    if quiet:
        day.run()
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[clock]}"),
        TextColumn("{task.fields[events]:>10,} events"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        total = day.end_ns - day.start_ns
        task = bar.add_task(f"{name} {trade_date}", total=total, clock="", events=0)

        def progress(t: int, events: int) -> None:
            bar.update(task, completed=t - day.start_ns, clock=iso(t, tz)[11:19], events=events)

        day.run(progress)


def _write_feed(day: SimulatedDay, path: str) -> dict[str, Any]:
    """The day's log as an ITCH 5.0 day file (see docs/feeds.md)."""
    from system.gateways.itch.dayfile import encode_log, save_messages

    enc = encode_log(day.world.store, day.session.tz, day.profile.ids)
    return {"path": path, "messages": save_messages(path, enc.messages)}


def register(app: typer.Typer) -> None:
    app.command("sim")(sim)
