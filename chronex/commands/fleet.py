"""``chronex fleet``: many simulated days, re-runs and verifications spread over Dask workers.

    chronex fleet sim --venue XTKS --from 2027-01-01 --to 2027-12-31 --seeds 1-5 --out year/ [--workers N]
    chronex fleet sim ... --scheduler tcp://HOST:8786      # a real cluster; --out on a shared filesystem
    chronex fleet replay year/ --rerun [--set PATH=VALUE]  # which days diverge on this build
    chronex fleet verify year/                              # every log's chain and manifest head

One log per (session, seed), named VENUE-DATE-sSEED.db, each written whole or not at all. A second
run into the same folder skips the days already done. See docs/fleets.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from chronex.commands.sim import _instant, _run_config, _split
from chronex.errors import BadInput, CheckFailed
from chronex.fleet import manifest as mf
from chronex.fleet.atomic import clear_partials
from chronex.fleet.cluster import Batch, ClusterError, fleet_client, run_tasks
from chronex.fleet.days import (
    DayResult,
    RerunOutcome,
    VerifyOutcome,
    rerun_log,
    sidecar,
    simulate_day,
    verify_log,
)
from chronex.fleet.plan import DayTask, PlanError, parse_seeds, sessions
from chronex.outpath import output_dir
from chronex.timearg import parse_date
from system.clock import FixedClock

fleet_app = typer.Typer(help="Fleets of simulated or replayed days on Dask.", no_args_is_help=True)
# Piped to a file or a test, rich assumes 80 columns and truncates cells; wide rows read better.
out = Console(highlight=False) if Console().is_terminal else Console(highlight=False, width=160)
err = Console(stderr=True, highlight=False)
_TABLE_ROWS = 30

Scheduler = Annotated[
    str | None, typer.Option("--scheduler", help="A running Dask scheduler, e.g. tcp://host:8786.")
]
Workers = Annotated[
    int | None,
    typer.Option("--workers", help="Worker processes of the LocalCluster (default: one per core)."),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
Json = Annotated[bool, typer.Option("--json", help="One JSON object instead of tables.")]


def _cluster_args(scheduler: str | None, workers: int | None) -> None:
    if scheduler is not None and workers is not None:
        raise BadInput("give --scheduler or --workers, not both (a named scheduler has its own workers)")
    if workers is not None and workers < 1:
        raise BadInput(f"--workers {workers} must be at least 1")
    if scheduler is not None and "://" not in scheduler:
        raise BadInput(f"--scheduler {scheduler!r} is not an address like tcp://host:8786")


def plan_fleet(
    venue: str, first: str, last: str, seeds: str, instruments: list[str] | None, from_: str | None,
    until: str | None, activity: float, config: str | None, fixed_seed: bool,
) -> tuple[list[DayTask], str, tuple[int, ...]]:  # fmt: skip
    from sim.clock import CalendarError, venue_calendar
    from sim.markets import ProfileError, load_profile
    from sim.markets.simulator import SimulatorError, check_activity

    d0, d1 = parse_date(first, "--from"), parse_date(last, "--to")
    try:
        check_activity(activity)
    except SimulatorError as e:
        raise BadInput(f"--activity {activity:g}: {str(e).split(': ', 1)[-1]}") from None
    try:
        seed_list = parse_seeds(seeds)
        profile = load_profile(venue)
        ids = _split(instruments)
        profile.select(ids or None)  # names a bad instrument now, not on a worker
        cal = venue_calendar(profile.calendar)
        days = sessions(cal, d0, d1)
    except (PlanError, ProfileError, CalendarError) as e:
        raise BadInput(str(e)) from None
    if not days:
        raise BadInput(f"no {profile.calendar} session between {d0} and {d1}")
    risk, pricing = _run_config(config)
    opts = [("--instruments", ",".join(ids)), ("--from-time", from_), ("--until", until),
            ("--activity", str(activity) if activity != 1.0 else None), ("--config", config)]  # fmt: skip
    settings = " ".join([f"{k} {v}" for k, v in opts if v] + (["--fixed-seed"] if fixed_seed else []))
    tasks: list[DayTask] = []
    for d in days:
        session = cal.session(d)
        assert session is not None  # sessions() kept only trade dates
        span = (session.transitions[0].at, session.close)
        start = _instant(from_, "--from-time", d, cal.tz, span)
        end = _instant(until, "--until", d, cal.tz, span)
        if start is not None and not span[0] <= start < span[1]:
            raise BadInput(f"--from-time {from_!r} is outside the {d} session")
        if end is not None and not (start or span[0]) < end <= span[1]:
            raise BadInput(f"--until {until!r} is not inside the {d} session after its start")
        for s in seed_list:
            tasks.append(
                DayTask(
                    venue,
                    profile.name,
                    d,
                    s,
                    tuple(ids),
                    start,
                    end,
                    activity,
                    risk,
                    pricing,
                    settings=settings,
                    fixed_seed=fixed_seed,
                )
            )
    return tasks, profile.name, seed_list


def _same_fleet_or_none(folder: Path, tasks: list[DayTask]) -> None:
    """A folder holds one fleet: its manifest may grow (a resumed or extended fleet) but a
    fleet that would leave logs out of it is another fleet, refused before anything runs."""
    try:
        old = mf.read(folder)
    except ValueError as e:
        raise BadInput(str(e)) from None
    if old is None:
        return
    ours = {t.log_name for t in tasks}
    dropped = [e.log for e in old.logs if e.log not in ours]
    if dropped:
        raise BadInput(
            f"{folder / mf.MANIFEST} is another fleet's ({old.venue} {old.first}..{old.last}, "
            f"{len(dropped)} of its logs not in this one, e.g. {dropped[0]}); give a new --out folder"
        )


def _done_already(task: DayTask, folder: Path) -> DayResult | None:
    """The day's result if its log and sidecar are in ``folder`` and agree (resume)."""
    from system.eventlog import open_log
    from system.eventlog.store import EventLogError

    log = folder / task.log_name
    side = sidecar(log)
    if not (log.is_file() and side.is_file()):
        return None
    try:
        res = msgspec.json.decode(side.read_bytes(), type=DayResult)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None  # an unreadable sidecar: run the day again
    if res.fingerprint != task.fingerprint:
        raise BadInput(
            f"{log} was simulated with other settings than this fleet's; "
            "give a new --out folder (or remove that folder's logs)"
        )
    try:
        store = open_log(str(log), FixedClock(0), create=False)
    except EventLogError:
        return None  # not a readable log: simulate the day again (the move replaces it whole)
    try:
        head = store.head()
    finally:
        store.close()
    return res if (head.seq, head.hash.hex()) == (res.events, res.head_hash) else None


@fleet_app.command("sim")
def sim_cmd(
    venue: Annotated[str, typer.Option(help="Venue profile: XTKS, CME, FX-JP, CRYPTO or a .toml path.")],
    first: Annotated[str, typer.Option("--from", help="First date, YYYY-MM-DD.")],
    last: Annotated[str, typer.Option("--to", help="Last date, YYYY-MM-DD (inclusive).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the logs, manifest and summary.")],
    seeds: Annotated[str, typer.Option(help="Seeds: 1-5, 7 or 1,3,10-12.")] = "0",
    instruments: Annotated[
        list[str] | None, typer.Option(help="Instruments by symbol or id, comma-separated (default: all).")
    ] = None,
    from_time: Annotated[
        str | None, typer.Option("--from-time", help="Each day's start (default: the pre-open), e.g. 08:55.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Each day's end (default: the close), e.g. 09:05.")
    ] = None,
    config: Annotated[str | None, typer.Option(help="Run TOML with \\[risk] and/or \\[pricing].")] = None,
    activity: Annotated[float, typer.Option(help="Scale every agent's order rate.")] = 1.0,
    fixed_seed: Annotated[
        bool,
        typer.Option(
            "--fixed-seed",
            help="Run every date under the seed itself (the same order flow each day) instead of "
            "a seed derived from (seed, date).",
        ),
    ] = False,
    scheduler: Scheduler = None,
    workers: Workers = None,
    json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Simulate every session between two dates under each seed, one log per (date, seed)."""
    _cluster_args(scheduler, workers)
    tasks, venue_name, seed_list = plan_fleet(
        venue, first, last, seeds, instruments, from_time, until, activity, config, fixed_seed
    )
    if out_dir.exists() and not out_dir.is_dir():
        raise BadInput(f"--out {str(out_dir)!r} is a file, not a folder")
    if not out_dir.parent.is_dir():
        why = "is not a folder" if out_dir.parent.exists() else "does not exist"
        raise BadInput(f"--out {str(out_dir)!r}: {str(out_dir.parent)!r} {why}")
    try:
        out_dir.mkdir(exist_ok=True)
    except OSError as e:
        raise BadInput(f"--out {str(out_dir)!r}: cannot make the folder ({e.strerror or e})") from None
    folder = out_dir.resolve()
    _same_fleet_or_none(folder, tasks)
    skipped = [r for r in (_done_already(t, folder) for t in tasks) if r is not None]
    done_logs = {r.log for r in skipped}
    todo = [t for t in tasks if t.log_name not in done_logs]
    if not (quiet or json) and skipped:
        err.print(f"resuming: {len(skipped)} of {len(tasks)} days already in {out_dir}")
    batch = Batch()
    if todo:
        try:
            with fleet_client(scheduler, workers, quiet=quiet or json) as client:
                batch = run_tasks(
                    client, simulate_day, [(t.key, (t, str(folder))) for t in todo],
                    title=f"{venue_name} fleet", quiet=quiet or json,
                )  # fmt: skip
        except ClusterError as e:
            raise BadInput(str(e)) from None
    days: list[DayResult] = [*skipped, *batch.results]
    man = mf.build(venue_name, tasks[0].trade_date.isoformat(), tasks[-1].trade_date.isoformat(),
                   seed_list, tasks[0].settings, days)  # fmt: skip
    path = mf.write(folder, man)
    per_inst, per_day = mf.frames(days)
    summary = mf.write_summary(folder, per_inst)
    clear_partials(folder)  # what killed attempts left; no task of this fleet runs any more
    if json:
        data = {
            **msgspec.to_builtins(man),
            "skipped": len(skipped),
            "failed": [{"task": k, "error": e} for k, e in batch.failures],
        }
        typer.echo(msgspec.json.encode(data).decode())
    else:
        _print_days(per_day, f"{venue_name} fleet: {len(days)} of {len(tasks)} days")
        out.print(f"summary: {summary}")
        typer.echo(f"{path}: {len(days)} logs, fleet hash {man.fleet_hash}")
    if batch.failures:
        key, why = batch.failures[0]
        raise CheckFailed(f"{len(batch.failures)} of {len(tasks)} days failed (first: {key}: {why}); "
                          "run the same command again to retry them")  # fmt: skip


def _print_days(per_day: Any, title: str) -> None:
    t = Table(title=title)
    cols = ("date", "seed", "trades", "volume", "volatility_pct", "spread_ticks", "head")
    heads = ("date", "seed", "trades", "volume", "vol %", "spread (ticks)", "head hash")
    for c, h in zip(cols, heads, strict=True):
        t.add_column(h, justify="left" if c in ("date", "head") else "right", no_wrap=True)

    def fmt(v: Any, c: str) -> str:
        if v is None or v != v:  # NaN: no samples that day
            return "-"
        if c == "seed":
            return str(int(v))
        if c == "trades":
            return f"{int(v):,}"
        if c == "volume":
            return f"{v:,.0f}"
        if isinstance(v, float):
            return f"{v:.3f}"
        return str(v)

    rows = list(per_day.itertuples(index=False))
    for r in rows[:_TABLE_ROWS]:
        t.add_row(*(fmt(getattr(r, c), c) for c in cols))
    out.print(t)
    if len(rows) > _TABLE_ROWS:
        out.print(f"... and {len(rows) - _TABLE_ROWS} more days (all in the summary file)")


def _fleet_logs(folder: Path) -> tuple[list[Path], dict[str, str], list[str]]:
    """The logs to check: the manifest's (with the heads it recorded, and the ones missing), then
    any other ``*.db`` in the folder."""
    if not folder.is_dir():
        raise BadInput(f"{str(folder)!r} is not a folder")
    try:
        man = mf.read(folder)
    except ValueError as e:
        raise BadInput(str(e)) from None
    heads = {e.log: e.head_hash for e in man.logs} if man is not None else {}
    present = {p.name: p for p in sorted(folder.glob("*.db"))}
    missing = [n for n in heads if n not in present]
    logs = [present[n] for n in heads if n in present] + [p for n, p in present.items() if n not in heads]
    if not logs and not missing:
        raise BadInput(f"{str(folder)!r} has no logs (*.db) and no fleet manifest")
    return logs, heads, missing


@fleet_app.command("verify")
def verify_cmd(
    folder: Annotated[Path, typer.Argument(help="A fleet folder.")],
    scheduler: Scheduler = None,
    workers: Workers = None,
    json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Verify every log's hash chain, and its head against the manifest. Exit 1 if one fails."""
    _cluster_args(scheduler, workers)
    logs, heads, missing = _fleet_logs(folder)
    try:
        with fleet_client(scheduler, workers, quiet=quiet or json) as client:
            batch = run_tasks(
                client, verify_log,
                [(f"chronex-verify-{p.name}", (str(p.resolve()), heads.get(p.name))) for p in logs],
                title="verifying", quiet=quiet or json,
            )  # fmt: skip
    except ClusterError as e:
        raise BadInput(str(e)) from None
    results: list[VerifyOutcome] = batch.results
    results += [
        VerifyOutcome(n, False, 0, "", "missing: in the manifest, not in the folder") for n in missing
    ]
    results += [VerifyOutcome(k.removeprefix("chronex-verify-"), False, 0, "", e) for k, e in batch.failures]
    bad = [r for r in results if not r.ok]
    if json:
        typer.echo(msgspec.json.encode({"ok": not bad, "logs": results}).decode())
    else:
        t = Table(title=f"{folder}: {len(results) - len(bad)} of {len(results)} logs verify")
        for c in ("log", "ok", "events", "head hash", "problem"):
            t.add_column(c, no_wrap=c != "problem")
        for r in bad[:_TABLE_ROWS] if len(results) > _TABLE_ROWS else results:
            t.add_row(r.log, "ok" if r.ok else "BAD", f"{r.events:,}", r.head_hash[:16], r.problem or "")
        out.print(t)
    if bad:
        raise CheckFailed(
            f"{len(bad)} of {len(results)} logs in {folder} do not verify (first: {bad[0].log})"
        )
    if not json:
        typer.echo(f"{folder}: all {len(results)} logs verify")


@fleet_app.command("replay")
def replay_cmd(
    folder: Annotated[Path, typer.Argument(help="A fleet folder (or any folder of logs).")],
    rerun: Annotated[bool, typer.Option("--rerun", help="Re-run every log's inputs on this build.")] = False,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="What-if: PATH=VALUE in each log's config (repeatable).")
    ] = None,
    config: Annotated[
        str | None, typer.Option("--config", help="What-if: a TOML merged into each config.")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Keep the re-run logs in this folder.")
    ] = None,
    scheduler: Scheduler = None,
    workers: Workers = None,
    json: Json = False,
    quiet: Quiet = False,
) -> None:
    """Re-run every log in a folder on this build; report which days diverge (exit 1 if one does,
    unless it is a what-if)."""
    if not rerun:
        raise BadInput("give --rerun (re-execute every log's inputs on this build)")
    _cluster_args(scheduler, workers)
    if config is not None and not Path(config).is_file():
        raise BadInput(f"--config {config!r}: no such file")
    logs, _heads, missing = _fleet_logs(folder)
    target: str | None = None
    if out_dir is not None:
        if out_dir.resolve() == folder.resolve():
            raise BadInput(f"--out {str(out_dir)!r} is the fleet folder itself; choose another")
        output_dir(str(out_dir), "--out")  # not a file, nor under one
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise BadInput(f"--out {str(out_dir)!r}: cannot make the folder ({e.strerror or e})") from None
        clash = [p.name for p in logs if (out_dir / p.name).exists()]
        if clash:
            raise BadInput(f"--out {str(out_dir)!r} already has {clash[0]} (choose an empty folder)")
        target = str(out_dir.resolve())
    sets = list(set_ or [])
    cfg = str(Path(config).resolve()) if config else None
    if (sets or cfg) and logs:
        _check_what_if(logs[0], sets, cfg)
    try:
        with fleet_client(scheduler, workers, quiet=quiet or json) as client:
            batch = run_tasks(
                client, rerun_log,
                [(f"chronex-rerun-{p.name}", (str(p.resolve()), sets, cfg, target)) for p in logs],
                title="re-running", quiet=quiet or json,
            )  # fmt: skip
    except ClusterError as e:
        raise BadInput(str(e)) from None
    if target is not None:
        clear_partials(Path(target))  # every task has ended
    results: list[RerunOutcome] = batch.results
    results += [RerunOutcome(n, False, "", "", 0, 0, 0, error="missing: in the manifest, not in the folder")
                for n in missing]  # fmt: skip
    results += [RerunOutcome(k.removeprefix("chronex-rerun-"), False, "", "", 0, 0, 0, error=e)
                for k, e in batch.failures]  # fmt: skip
    diverged = [r for r in results if not r.same]
    if json:
        typer.echo(msgspec.json.encode({"same": not diverged, "logs": results}).decode())
    else:
        t = Table(title=f"{folder}: {len(results) - len(diverged)} of {len(results)} days re-run the same")
        for c in ("log", "same", "events", "first divergence", "original", "re-run"):
            t.add_column(c, no_wrap=True)
        shown = diverged if len(results) > _TABLE_ROWS else results
        for r in shown[:_TABLE_ROWS]:
            where = r.error or ("" if r.divergence_seq is None else f"seq {r.divergence_seq}")
            t.add_row(r.log, "same" if r.same else "DIFFERS", f"{r.events:,}", where,
                      r.original_type or "", r.rerun_type or "")  # fmt: skip
        out.print(t)
        typer.echo(f"{folder}: {len(diverged)} of {len(results)} days diverge")
    errors = [r for r in results if r.error]
    if errors:
        raise CheckFailed(f"{len(errors)} of {len(results)} days could not be re-run (first: "
                          f"{errors[0].log}: {errors[0].error})")  # fmt: skip
    if diverged and not (sets or config):
        raise CheckFailed(f"{len(diverged)} of {len(results)} days diverge (first: {diverged[0].log})")


def _check_what_if(log: Path, sets: list[str], config: str | None) -> None:
    """Apply the what-if to the first log's configuration here, so a bad --set is one line and
    exit 2 rather than the same failure on every worker."""
    from sim.replay import ReplayError, override, recorded_config
    from system.bootstrap import TradingSystem
    from system.eventlog import open_log

    store = open_log(str(log), FixedClock(0), create=False)
    try:
        cfg = override(recorded_config(store), sets, config)
        scratch = open_log("memory://", FixedClock(0))
        TradingSystem(cfg, scratch, FixedClock(0))  # builds every component from the config
    except ReplayError as e:
        raise BadInput(str(e)) from None
    except (msgspec.ValidationError, ValueError, TypeError) as e:
        raise BadInput(f"the what-if configuration is not valid: {e}") from None
    finally:
        store.close()


def register(app: typer.Typer) -> None:
    app.add_typer(fleet_app, name="fleet")
