"""``chronex diff LOG LOG2``: the orders, trades, positions and account events two runs disagree on.

``chronex diff PROD RERUN --production``: where the execution reports RERUN's engine implies differ
from the ones production sent (recorded in PROD by ``chronex ingest``), order by order, the first
divergence first; and, when PROD holds a captured ITCH feed, where the feed RERUN's engine publishes
differs from it, message by message (content, and timestamps beyond ``--feed-window-ms``).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from chronex.commands.replay import open_existing
from chronex.errors import BadInput, CheckFailed
from sim.replay.diff import diff_logs
from system.eventlog.verify import verify

out = Console(highlight=False)
_KINDS = ("order", "trade", "position", "account")


def _text(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, dict):
        return " ".join(f"{k}={x}" for k, x in v.items())
    return str(v)


def diff(
    log: Annotated[str, typer.Argument(help="The original log.")],
    other: Annotated[
        str | None, typer.Argument(help="The log to compare (a re-run or what-if; with --production: LOG).")
    ] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Only these kinds: order, trade, position, account.")
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="One JSON object per difference.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 if the logs differ.")] = False,
    production: Annotated[
        bool,
        typer.Option(
            "--production",
            help="Compare LOG's recorded production reports (chronex ingest) with OTHER's engine.",
        ),
    ] = False,
    feed_window_ms: Annotated[
        float | None,
        typer.Option(
            "--feed-window-ms",
            help="--production: a feed message captured further than this from the time of the order "
            "that made it is a timing difference (default: times not compared).",
        ),
    ] = None,
    feed_tz: Annotated[
        str | None,
        typer.Option("--feed-tz", help="--production: the feed's time zone (default: the venue's)."),
    ] = None,
) -> None:
    """List what differs between two runs of one order flow."""
    if not production and (feed_window_ms is not None or feed_tz is not None):
        raise BadInput("--feed-window-ms and --feed-tz compare a captured feed: give --production")
    if production:
        if kind:
            raise BadInput("--kind does not apply to --production (it compares execution reports)")
        if feed_window_ms is not None and not feed_window_ms >= 0:
            raise BadInput(f"--feed-window-ms {feed_window_ms} is not a non-negative number")
        window = None if feed_window_ms is None else int(feed_window_ms * 1_000_000)
        _production(log, other or log, json, check, window, feed_tz)
        return
    if other is None:
        raise BadInput("give the log to compare: chronex diff LOG LOG2 (or --production)")
    kinds = set(kind or _KINDS)
    bad = sorted(kinds - set(_KINDS))
    if bad:
        raise BadInput(f"--kind {bad[0]!r} is not one of {', '.join(_KINDS)}")
    a, b = open_existing(log), open_existing(other)
    try:
        for name, s in ((log, a), (other, b)):
            # A difference list is evidence: it is made only from logs whose chains hold.
            verdict = verify(s)
            if not verdict.ok:
                raise CheckFailed(f"{name}: tampered log, nothing compared ({verdict})")
        rows = [d for d in diff_logs(a, b) if d.kind in kinds]
    finally:
        a.close()
        b.close()
    if json:
        for d in rows:
            typer.echo(msgspec.json.encode(d.__dict__).decode())
    else:
        t = Table(title=f"{log} vs {other}: {len(rows)} differences")
        for col in ("kind", "key", log, other):
            t.add_column(col, overflow="fold")
        for d in rows:
            t.add_row(d.kind, d.key, _text(d.left), _text(d.right))
        out.print(t)
    if check and rows:
        raise typer.Exit(1)


def _only(v: dict[str, str] | None, fields: tuple[str, ...]) -> str:
    """The differing fields of one side (exec type and status always, for context)."""
    if v is None:
        return "(no report)"
    keep = ("exec_type", "ord_status", *(f for f in fields if f not in ("exec_type", "ord_status")))
    return " ".join(f"{k}={v[k] or '-'}" for k in keep)


def _feed_zone(events: list[Any], given: str | None) -> str:
    """The zone of the feed's timestamps: ``--feed-tz``, else the first listed venue's calendar's."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from sim.clock.registry import venue_calendar
    from sim.markets.profile import load_profile
    from system.engine import ListInstrument

    if given is not None:
        try:
            ZoneInfo(given)
        except (ZoneInfoNotFoundError, ValueError):
            raise BadInput(f"--feed-tz {given!r} is not a time zone (e.g. Asia/Tokyo)") from None
        return given
    for ev in events:
        if isinstance(ev.record, ListInstrument):
            venue = ev.record.instrument.id.partition(":")[0]
            try:
                return str(venue_calendar(load_profile(venue).calendar).tz)
            except Exception:  # a venue without a profile: say which zone to use
                raise BadInput(f"venue {venue!r} has no profile here: give --feed-tz ZONE") from None
    return "UTC"


def _production(log: str, other: str, json: bool, check: bool, window_ns: int | None, tz: str | None) -> None:
    from system.ingest.compare import compare_feed, compare_reports, is_ingested, production_feeds

    a = open_existing(log)
    b = a if other == log else open_existing(other)
    try:
        if not is_ingested(a.read(1)):
            raise BadInput(f"{log}: not an ingested log: it holds no production reports (chronex ingest fix)")
        rows = compare_reports(a.read(1), b.read(1))
        feed = []
        captured = bool(production_feeds(a.read(1)))
        if captured:
            engine = list(b.read(1))
            feed = compare_feed(a.read(1), engine, _feed_zone(engine, tz), window_ns)
    finally:
        a.close()
        if b is not a:
            b.close()
    if json:
        for d in rows:
            typer.echo(msgspec.json.encode(d.__dict__).decode())
        for f in feed:
            typer.echo(msgspec.json.encode({"compare": "feed", **f.__dict__}).decode())
    else:
        _print_reports(log, other, rows)
        if captured:
            _print_feed(log, other, feed, window_ns)
    if check and (rows or feed):
        raise typer.Exit(1)


def _print_reports(log: str, other: str, rows: list[Any]) -> None:
    from system.clock import iso

    if not rows:
        typer.echo(f"{other}: its engine answers every order as production did in {log} (0 differences)")
        return
    t = Table(title=f"production ({log}) vs engine ({other}): {len(rows)} orders differ, earliest first")
    for col in ("time (UTC)", "order, report", "production", "engine"):
        t.add_column(col, overflow="fold")
    for i, d in enumerate(rows):
        t.add_row(
            iso(d.time, "UTC").replace("+00:00", ""), f"{d.session} {d.order} #{d.index}",
            _only(d.production, d.fields), _only(d.engine, d.fields), style="bold" if i == 0 else None,
        )  # fmt: skip
    out.print(t)


def _print_feed(log: str, other: str, feed: list[Any], window_ns: int | None) -> None:
    from system.clock import iso

    window = "times not compared" if window_ns is None else f"window {window_ns / 1e6:g} ms"
    if not feed:
        typer.echo(f"{other}: its engine publishes the feed captured in {log} (0 differences, {window})")
        return
    t = Table(title=f"ITCH feed: production ({log}) vs engine ({other}): {len(feed)} differences, {window}")
    for col in ("feed", "seq", "captured (UTC)", "difference", "production", "engine"):
        t.add_column(col, overflow="fold")
    first = next((i for i, f in enumerate(feed) if f.kind != "timing"), 0)
    for i, f in enumerate(feed):
        what = f.kind if f.kind != "timing" else f"timing {f.delta_ns / 1e6:+.3f} ms"
        t.add_row(
            f.feed, str(f.seq), iso(f.time, "UTC").replace("+00:00", ""), what, f.production or "-",
            f.engine or "-", style="bold" if i == first else None,
        )  # fmt: skip
    out.print(t)


def register(app: typer.Typer) -> None:
    app.command("diff")(diff)
