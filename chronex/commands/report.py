"""``chronex report LOG --out day.html``: the audit report of a log, one self-contained HTML file."""

from __future__ import annotations

from typing import Annotated

import typer

from chronex.commands.replay import open_existing, replay_errors
from chronex.errors import BadInput
from reports.audit import write


def report(
    log: Annotated[str, typer.Argument(help="Log path or URL.")],
    out: Annotated[str, typer.Option("--out", help="The HTML file to write.")] = "audit.html",
    tz: Annotated[str | None, typer.Option(help="Zone for times (default: the log's venue).")] = None,
    max_rows: Annotated[int, typer.Option(help="Trade blotter rows at most.")] = 5_000,
) -> None:
    """Integrity verdict, trade blotter, OHLC charts, positions and P&L, corrections with both views."""
    if max_rows <= 0:
        raise BadInput(f"--max-rows {max_rows} must be positive")
    store = open_existing(log)
    try:
        with replay_errors():
            path = write(store, out, title=log, tz=tz, max_rows=max_rows)
    finally:
        store.close()
    typer.echo(str(path))


def register(app: typer.Typer) -> None:
    app.command("report")(report)
