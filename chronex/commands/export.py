"""``chronex export LOG --to parquet|csv --what events|orders|trades|bars DIR``."""

from __future__ import annotations

from typing import Annotated

import msgspec
import typer

from chronex.commands.replay import open_existing
from chronex.errors import BadInput, CheckFailed
from chronex.outpath import cannot_write, output_dir
from sim.replay.export import WHATS, export
from system.eventlog import UnknownRecordType, verify


def export_cmd(
    log: Annotated[str, typer.Argument(help="Log path or URL.")],
    directory: Annotated[str, typer.Argument(help="Directory to write <what>.<format> files into.")],
    to: Annotated[str, typer.Option("--to", help="parquet or csv.")] = "parquet",
    what: Annotated[
        list[str] | None,
        typer.Option("--what", help="events, orders, trades, bars (repeatable or comma list; default all)."),
    ] = None,
    allow_tampered: Annotated[
        bool,
        typer.Option(
            "--allow-tampered",
            help="Export a log that fails verification (each file then says TAMPERED first).",
        ),
    ] = False,
) -> None:
    """Write the log's events, orders, trades and OHLC bars as tables.

    A log that fails verification: exit 1 and nothing written, unless --allow-tampered."""
    if to not in ("parquet", "csv"):
        raise BadInput(f"--to {to!r} is not parquet or csv")
    items = [w.strip() for item in (what or list(WHATS)) for w in item.split(",") if w.strip()]
    bad = [w for w in items if w not in WHATS]
    if bad:
        raise BadInput(f"--what {bad[0]!r} is not one of {', '.join(WHATS)}")
    out = output_dir(directory)
    store = open_existing(log)
    try:
        verdict = verify(store)
        if not verdict.ok and not allow_tampered:
            raise CheckFailed(
                f"{log}: tampered log, nothing exported ({verdict}); "
                "--allow-tampered exports it with each file marked TAMPERED"
            )
        warning = None if verdict.ok else f"TAMPERED LOG: {log} fails verification ({verdict})"
        try:
            paths = export(store, out, items, to, warning=warning)
        except OSError as e:
            raise cannot_write(directory, e, "DIR") from None
        except (msgspec.ValidationError, msgspec.DecodeError, UnknownRecordType) as e:
            # Only a log that failed verification gets here: an altered entry no longer decodes.
            raise CheckFailed(
                f"{log}: tampered log: an entry no longer decodes ({e}); nothing exported"
            ) from None
    finally:
        store.close()
    if warning is not None:
        typer.echo(warning, err=True)
    for p in paths:
        typer.echo(str(p))


def register(app: typer.Typer) -> None:
    app.command("export")(export_cmd)
