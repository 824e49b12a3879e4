"""``chronex replay``: the state at any instant (as known at any later one), re-runs and rebases.

chronex replay day.db --as-of '10:31:07.250 Asia/Tokyo' [--known-at '16:04 Asia/Tokyo'] [--json]
chronex replay day.db --rerun --out rerun.db [--set risk.accounts.ACC-1.max_order_qty=500]
chronex replay day.db --rebase 2031-12-30 --out rebased.db
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Annotated, Any

import msgspec
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from chronex.errors import BadInput, CheckFailed
from chronex.outpath import output_file
from chronex.timearg import needs_a_day, parse_date, parse_instant, parse_zone
from sim.clock.calendar import CalendarError
from sim.replay import (
    ReplayError,
    as_of,
    ensure_index,
    override,
    rebase,
    recorded_config,
    recorded_manifest,
    rerun,
    views,
)
from system.clock import FixedClock, iso, to_datetime
from system.engine.refdata import price_to_decimal, qty_to_decimal
from system.eventlog import EventStore, LogCorrupted, open_log, verify
from system.eventlog.fresh import fresh_log, fresh_store

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def open_existing(path: str) -> EventStore:
    """A log that must exist and be a Chronex log (else one line and exit 2), opened read-only:
    reading never changes the log's bytes (the replay cache lives beside it, see --cache)."""
    return open_log(path, FixedClock(0), readonly=True)


CacheOption = Annotated[
    str | None,
    typer.Option(
        "--cache",
        help="Folder for the replay cache (default: LOG.replay beside the log, or the user's "
        "cache folder when the log's folder is read-only).",
    ),
]


def on_log_day(store: EventStore, text: str, day: date | None, what: str) -> int:
    """``parse_instant`` on the log's day; a time of day before the log's start that falls inside
    it on the next day is read there: a session across midnight (CME opens at 17:00 Chicago the
    evening before its trade date) is one log day, as `sim --until 09:00` reads it."""
    t = parse_instant(text, on=day, what=what)
    if day is None or not needs_a_day(text):
        return t
    started, _ = recorded_manifest(store)
    if started is None or t >= started.start_time:
        return t
    later = parse_instant(text, on=day + timedelta(days=1), what=what)
    head = store.head()
    last = next(iter(store.read(head.seq, head.seq)), None)
    return later if last is not None and later <= last.valid_time else t


def log_zone(store: EventStore) -> tuple[str, date | None]:
    """The zone people read this log in (its first venue's) and the log's local start date."""
    cfg = recorded_config(store)
    started, _ = recorded_manifest(store)
    zone = "UTC"
    if cfg.venues:
        try:
            from sim.clock.registry import venue_calendar

            zone = venue_calendar(cfg.venues[0]).tz
        except Exception:  # an unknown venue name still replays, in UTC
            zone = "UTC"
    if started is None:
        first = next(iter(store.read_raw(1)), None)
        if first is not None and first.seq != 1:
            # Its manifest is seq 1: without it, times cannot be read on the log's day, and an
            # auditor must hear of the gap first (a check, exit 1), not of a time to rewrite.
            raise CheckFailed(
                f"{store.url}: missing event (gap): seq 1 is absent, the first stored is seq {first.seq}"
            )
    day = to_datetime(started.start_time, zone).date() if started is not None else None
    return zone, day


@contextmanager
def progress_bar(label: str, quiet: bool) -> Iterator[Callable[[int, int], None]]:
    if quiet:
        yield lambda done, total: None
        return
    with Progress(console=err, transient=True) as p:
        task = p.add_task(label, total=None)

        def tick(done: int, total: int) -> None:
            p.update(task, completed=done, total=total)

        yield tick


@contextmanager
def replay_errors() -> Iterator[None]:
    """ReplayError -> exit 2 (bad input); a broken chain -> exit 1 (the log fails its check)."""
    try:
        yield
    except ReplayError as e:
        raise BadInput(str(e)) from None
    except LogCorrupted as e:
        raise CheckFailed(f"tampered log: {e}") from None


_NEW_FILE = "choose a new file for the new log"


def _fresh_out(path: str) -> None:
    if "://" in path:
        return
    p = output_file(path, "--out")
    if p.exists() and p.stat().st_size > 0:
        raise BadInput(f"--out {path}: already exists (choose a new file for the new log)")


def replay(
    log: Annotated[str, typer.Argument(help="Log path or URL.")],
    as_of_: Annotated[
        str | None, typer.Option("--as-of", help="Valid time: ISO with offset or 'HH:MM[:SS.fff] Zone'.")
    ] = None,
    known_at: Annotated[
        str | None, typer.Option("--known-at", help="Only what was recorded by this time.")
    ] = None,
    rerun_: Annotated[
        bool, typer.Option("--rerun", help="Re-execute the inputs through today's engines.")
    ] = False,
    rebase_: Annotated[
        str | None, typer.Option("--rebase", help="Replay the order flow onto this date.")
    ] = None,
    out_log: Annotated[str | None, typer.Option("--out", help="The new log (--rerun, --rebase).")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="What-if: PATH=VALUE in the config (repeatable).")
    ] = None,
    config: Annotated[
        str | None, typer.Option("--config", help="What-if: a TOML file merged into the config.")
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="JSON instead of tables.")] = False,
    tz: Annotated[str | None, typer.Option(help="Zone for times shown (default: the log's venue).")] = None,
    levels: Annotated[int, typer.Option(help="Book levels shown per side in tables.")] = 5,
    verify_: Annotated[
        bool, typer.Option("--verify", help="Verify the whole hash chain first (exit 1 if it breaks).")
    ] = False,
    snapshot_every: Annotated[
        int | None, typer.Option(help="Snapshot interval of the replay cache (entries).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    cache: CacheOption = None,
) -> None:
    """Reconstruct the state at a valid time (as known at a recorded time), re-run or rebase a log."""
    if levels < 1:
        raise BadInput(f"--levels {levels} must be at least 1")
    modes = sum(x for x in (as_of_ is not None, rerun_, rebase_ is not None))
    if modes != 1:
        raise BadInput("give exactly one of --as-of T, --rerun or --rebase DATE")
    if (rerun_ or rebase_) and not out_log:
        raise BadInput("--rerun and --rebase write a new log: give --out LOG2")
    if out_log is not None and not (rerun_ or rebase_):
        raise BadInput("--out goes with --rerun or --rebase (--as-of writes nothing)")
    if (set_ or config) and not (rerun_ or rebase_):
        raise BadInput("--set/--config apply to --rerun or --rebase")
    if snapshot_every is not None and snapshot_every <= 0:
        raise BadInput(f"--snapshot-every {snapshot_every} must be positive")
    store = open_existing(log)
    with replay_errors():
        if verify_:
            v = verify(store)
            if not v.ok:
                raise CheckFailed(f"{log}: {v}")
        zone, day = log_zone(store)
        show_tz = parse_zone(tz, "--tz") if tz else zone
        if as_of_ is not None:
            t = on_log_day(store, as_of_, day, "--as-of")
            r = on_log_day(store, known_at, day, "--known-at") if known_at else None
            with progress_bar("indexing the log (once)", quiet or json) as tick:
                idx = ensure_index(store, every=snapshot_every, progress=tick, cache=cache)
            state = as_of(store, t, r, index=idx, tz=show_tz, cache=cache)
            _show_state(state, show_tz, json, levels)
            return
        cfg = recorded_config(store)
        if set_ or config:
            cfg = override(cfg, set_ or [], config)
        assert out_log is not None
        _fresh_out(out_log)
        if rerun_:
            _rerun(store, log, out_log, cfg, bool(set_ or config), json, quiet)
        else:
            assert rebase_ is not None
            new = parse_date(rebase_, "--rebase")
            closed = _closed_venues(cfg.venues, new)
            if closed and not (quiet or json):
                # Allowed on purpose (what a flow meets on a holiday is a question auditors ask),
                # but said first: every order of those venues will be refused as closed.
                typer.echo(
                    f"note: {new} is not a trading day of {', '.join(closed)}: the books stay closed "
                    "and the flow's orders there are rejected (WRONG_PHASE)",
                    err=True,
                )
            with (
                # The new log appears whole, or not at all.
                fresh_log(out_log, option="--out", hint=_NEW_FILE, replace_empty=True) as target,
                progress_bar(f"rebasing onto {new}", quiet or json) as tick,
            ):
                try:
                    res = rebase(store, new, target.url, config=cfg, progress=tick)
                except CalendarError as e:  # a date beyond the venue calendar's horizon
                    raise BadInput(f"--rebase {rebase_}: {e}") from None
            data = {"out": out_log, **msgspec.to_builtins(res)}
            if json:
                typer.echo(msgspec.json.encode(data).decode())
            else:
                rej = ", ".join(f"{k} {v}" for k, v in sorted(res.rejected.items())) or "none"
                typer.echo(
                    f"{out_log}: rebased onto {new}: {res.commands} commands, "
                    f"{res.accepted} orders accepted, "
                    f"{res.trades} trades, rejected: {rej}; {res.head_seq} entries"
                )


def _closed_venues(venues: Any, day: date) -> list[str]:
    """The venues whose calendar has no session on ``day`` (unknown venues and dates beyond a
    calendar's horizon are left to the rebase itself to report)."""
    from sim.clock.registry import venue_calendar

    closed = []
    for v in venues:
        try:
            if not venue_calendar(v).is_business_day(day):
                closed.append(v)
        except Exception:  # not a calendar this build knows, or past its horizon
            continue
    return closed


def _rerun(
    store: EventStore, log: str, out_log: str, cfg: Any, what_if: bool, json: bool, quiet: bool
) -> None:
    with (
        # The new log appears whole, or not at all.
        fresh_store(out_log, FixedClock(0), option="--out", hint=_NEW_FILE, replace_empty=True) as new,
        progress_bar("re-running", quiet or json) as tick,
    ):
        res = rerun(store, new, config=cfg, progress=tick)
    data = msgspec.to_builtins(
        {
            "same": res.same,
            "original_head": list(res.original_head),
            "rerun_head": list(res.rerun_head),
            "commands": res.commands,
            "failed": res.failed,
            "divergence": None if res.divergence is None else res.divergence.__dict__,
        }
    )
    if json:
        typer.echo(msgspec.json.encode(data).decode())
    elif res.same:
        typer.echo(f"{out_log}: same as {log}: head seq {res.rerun_head[0]} hash {res.rerun_head[1]}")
    else:
        d = res.divergence
        assert d is not None
        typer.echo(f"{out_log}: differs from {log} first at seq {d.seq}")
        enc = msgspec.json.Encoder(order="deterministic")
        typer.echo(f"  original: {enc.encode(d.original).decode() if d.original else '(log ends)'}")
        typer.echo(f"  rerun:    {enc.encode(d.rerun).decode() if d.rerun else '(log ends)'}")
        if what_if:
            typer.echo(f"  what-if run: list the differences with `chronex diff {log} {out_log}`")
    if not json:
        _production_summary(log, out_log)
    if not res.same and not what_if:
        raise typer.Exit(1)


def _production_summary(log: str, out_log: str) -> None:
    """For an ingested log: how many orders' reports the re-run's engine answers differently."""
    from system.ingest.compare import compare_reports, is_ingested

    a, b = open_existing(log), open_existing(out_log)
    try:
        if not is_ingested(a.read(1)):
            return
        n = len(compare_reports(a.read(1), b.read(1)))
    finally:
        a.close()
        b.close()
    typer.echo(
        f"  production reports: {n} orders differ from what {out_log}'s engine implies"
        + (f" (list them: chronex diff {log} {out_log} --production)" if n else "")
    )


def _show_state(state: Any, tz: str, json: bool, levels: int) -> None:
    data = views.state_dict(state)
    if json:
        typer.echo(msgspec.json.encode(data, order="deterministic").decode())
        return
    out.print(f"[bold]{state.basis.describe(tz)}[/bold]", soft_wrap=True)
    out.print("phases: " + ", ".join(f"{v} {p}" for v, p in data["phases"].items()))
    for b in data["books"]:
        px, qx = _units(state, b["instrument"])
        t = Table(title=f"{b['instrument']} ({b['phase']}, last {px(b['last_price'])})")
        for col in ("bid orders", "bid qty", "bid", "ask", "ask qty", "ask orders"):
            t.add_column(col, justify="right")
        for i in range(min(levels, max(len(b["bids"]), len(b["asks"])))):
            bid = b["bids"][i] if i < len(b["bids"]) else None
            ask = b["asks"][i] if i < len(b["asks"]) else None
            left = [str(bid["count"]), qx(bid["qty"]), px(bid["price"])] if bid else ["", "", ""]
            right = [px(ask["price"]), qx(ask["qty"]), str(ask["count"])] if ask else ["", "", ""]
            t.add_row(*left, *right)
        out.print(t)
    out.print(f"open orders: {len(data['open_orders'])}")
    t = Table(title="positions")
    for col in ("account", "instrument", "qty", "mark", "P&L"):
        t.add_column(col, justify="right" if col in ("qty", "mark", "P&L") else "left")
    for p in data["positions"]:
        t.add_row(
            p["account"],
            p["instrument"],
            _units(state, p["instrument"])[1](p["qty"]),
            _units(state, p["instrument"])[0](p["mark"]),
            f"{p.get('pnl_amount')} {p.get('currency', '')}",
        )
    out.print(t)
    t = Table(title="cash balances")
    for col in ("account", "currency", "cash"):
        t.add_column(col)
    for bal in data["balances"]:
        t.add_row(bal["account"], bal["currency"], bal["cash"])
    out.print(t)
    t = Table(title="marks")
    for col in ("instrument", "price", "time", "source"):
        t.add_column(col)
    for m in data["marks"]:
        px = _units(state, m["instrument"])[0]
        t.add_row(m["instrument"], px(m["price"]), iso(m["time"], tz), m["source"])
    out.print(t)
    for name, comp in data["components"].items():
        out.print(f"[bold]{name}[/bold]")
        out.print_json(msgspec.json.encode(comp).decode())


def _units(state: Any, inst_id: str) -> tuple[Callable[[int | None], str], Callable[[int | None], str]]:
    """Formatters from int instrument units to the decimals people read (the edge of the system)."""
    inst = state.ledger.instruments.get(inst_id)

    def px(v: int | None) -> str:
        return "" if v is None else str(v if inst is None else price_to_decimal(inst, v))

    def qx(v: int | None) -> str:
        return "" if v is None else str(v if inst is None else qty_to_decimal(inst, v))

    return px, qx


def register(app: typer.Typer) -> None:
    app.command("replay")(replay)
