"""``chronex calendar VENUE --from D --to D [--json]`` and ``chronex calendar VENUE --at T``."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from chronex.errors import BadInput
from chronex.timearg import parse_date, parse_instant
from sim.clock.calendar import CalendarError, Session, VenueCalendar
from system.clock import iso

out = Console(highlight=False)
_VENUE_HELP = "XTKS, CME, FX-JP, CRYPTO, any exchange_calendars code (XNYS...), or a venue .toml file."


def _calendar(venue: str) -> VenueCalendar:
    from sim.clock.registry import venue_calendar

    try:
        return venue_calendar(venue)
    except CalendarError as e:
        raise BadInput(str(e)) from None


def _show_sessions(cal: VenueCalendar, sessions: list[Session]) -> None:
    table = Table(title=f"{cal.code}: {len(sessions)} sessions", show_lines=False)
    for col in ("trade date", f"venue time ({cal.tz})", "UTC", "phase"):
        table.add_column(col, overflow="fold")
    for s in sessions:
        label = s.trade_date.isoformat()
        kind = s.kind + (" (rules projected)" if s.projected else "")
        for i, tr in enumerate(s.transitions):
            first = i == 0
            table.add_row(
                label if first else (kind if i == 1 else ""),
                iso(tr.at, s.tz)[:19].replace("T", " "),
                iso(tr.at)[:19].replace("T", " "),
                str(tr.phase),
            )
        if len(s.transitions) == 1:
            table.add_row(kind, "", "", "")
        table.add_section()
    out.print(table)
    if any(s.projected for s in sessions):
        out.print(
            f"note: holidays after {cal.known_until.isoformat()} are not published yet; "
            "those sessions follow the rules and may change."
        )


def calendar(
    venue: Annotated[str, typer.Argument(help=_VENUE_HELP)],
    from_: Annotated[str | None, typer.Option("--from", help="First trade date (YYYY-MM-DD).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last trade date (YYYY-MM-DD).")] = None,
    at: Annotated[str | None, typer.Option("--at", help="An instant: its phase and trade date.")] = None,
    json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List a venue's sessions and phases between two dates, or say the phase at an instant."""
    cal = _calendar(venue)
    try:
        if at is not None:
            if from_ is not None or to is not None:
                raise BadInput("use either --at or --from/--to, not both")
            t = parse_instant(at, what="--at")
            _show_at(cal, t, json)
            return
        if from_ is None:
            raise BadInput("give --from DATE (and optionally --to DATE), or --at TIME")
        d0 = parse_date(from_, "--from")
        d1 = parse_date(to, "--to") if to is not None else d0
        if d1 < d0:
            raise BadInput(f"--to {d1.isoformat()} is before --from {d0.isoformat()}")
        sessions = cal.sessions(d0, d1)
    except CalendarError as e:
        raise BadInput(str(e)) from None
    if json:
        typer.echo(msgspec.json.encode({
            "venue": cal.code, "tz": cal.tz, "known_until": cal.known_until.isoformat(),
            "sessions": [s.to_dict() for s in sessions],
        }).decode())
        return
    _show_sessions(cal, sessions)


def _show_at(cal: VenueCalendar, t: int, json: bool) -> None:
    phase = cal.phase(t)
    trade: date = cal.trade_date(t)
    info = {
        "venue": cal.code,
        "at": {"local": iso(t, cal.tz), "utc": iso(t), "ns": t},
        "phase": str(phase),
        "is_open": cal.is_open(t),
        "trade_date": trade.isoformat(),
        "projected": cal.is_projected(trade),
        "next_open": iso(cal.next_open(t), cal.tz),
        "next_close": iso(cal.next_close(t), cal.tz),
    }
    if json:
        typer.echo(msgspec.json.encode(info).decode())
        return
    note = " (rules projected: holidays not yet published)" if info["projected"] else ""
    out.print(f"{cal.code} at {iso(t, cal.tz)} ({iso(t)}): {phase}, trade date {trade.isoformat()}{note}")
    out.print(f"next open {info['next_open']}, next close {info['next_close']}")


def register(app: typer.Typer) -> None:
    app.command("calendar")(calendar)
