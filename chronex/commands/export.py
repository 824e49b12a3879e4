"""``chronex export LOG --to parquet|csv --what events|orders|trades|bars DIR``."""

from __future__ import annotations

from typing import Annotated

import typer

from chronex.commands.replay import open_existing
from chronex.errors import BadInput
from sim.replay.export import WHATS, export


def export_cmd(
    log: Annotated[str, typer.Argument(help="Log path or URL.")],
    directory: Annotated[str, typer.Argument(help="Directory to write <what>.<format> files into.")],
    to: Annotated[str, typer.Option("--to", help="parquet or csv.")] = "parquet",
    what: Annotated[
        list[str] | None,
        typer.Option("--what", help="events, orders, trades, bars (repeatable or comma list; default all)."),
    ] = None,
) -> None:
    """Write the log's events, orders, trades and OHLC bars as tables."""
    if to not in ("parquet", "csv"):
        raise BadInput(f"--to {to!r} is not parquet or csv")
    items = [w.strip() for item in (what or list(WHATS)) for w in item.split(",") if w.strip()]
    bad = [w for w in items if w not in WHATS]
    if bad:
        raise BadInput(f"--what {bad[0]!r} is not one of {', '.join(WHATS)}")
    store = open_existing(log)
    try:
        paths = export(store, directory, items, to)
    finally:
        store.close()
    for p in paths:
        typer.echo(str(p))


def register(app: typer.Typer) -> None:
    app.command("export")(export_cmd)
