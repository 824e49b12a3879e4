"""``chronex report LOG --out day.html``: the audit report of a log, one self-contained HTML file."""

from __future__ import annotations

from typing import Annotated

import msgspec
import typer

from chronex.commands.replay import CacheOption, open_existing, replay_errors
from chronex.errors import BadInput, CheckFailed
from chronex.outpath import cannot_write, not_a_database, output_file
from chronex.timearg import parse_zone
from reports.audit import write
from system.eventlog import UnknownRecordType, verify


def report(
    log: Annotated[str, typer.Argument(help="Log path or URL.")],
    out: Annotated[str, typer.Option("--out", help="The HTML file to write.")] = "audit.html",
    tz: Annotated[str | None, typer.Option(help="Zone for times (default: the log's venue).")] = None,
    max_rows: Annotated[int, typer.Option(help="Trade blotter rows at most.")] = 5_000,
    allow_tampered: Annotated[
        bool,
        typer.Option(
            "--allow-tampered",
            help="Write the report of a log that fails verification (it then says TAMPERED first).",
        ),
    ] = False,
    cache: CacheOption = None,
) -> None:
    """Integrity verdict, trade blotter, OHLC charts, positions and P&L, corrections with both views.

    A log that fails verification: exit 1 and nothing written, unless --allow-tampered."""
    if max_rows <= 0:
        raise BadInput(f"--max-rows {max_rows} must be positive")
    if tz is not None:
        parse_zone(tz, "--tz")
    path = output_file(out, "--out")
    not_a_database(path, "--out")
    store = open_existing(log)
    try:
        with replay_errors():
            verdict = verify(store)
            if not verdict.ok and not allow_tampered:
                raise CheckFailed(
                    f"{log}: tampered log, no report written ({verdict}); "
                    "--allow-tampered writes one marked TAMPERED"
                )
            try:
                written = write(
                    store, path, title=log, tz=tz, max_rows=max_rows, verdict=verdict, cache=cache
                )
            except OSError as e:
                raise cannot_write(path, e, "--out") from None
            except (msgspec.ValidationError, msgspec.DecodeError, UnknownRecordType) as e:
                # Only a log that failed verification gets here: an altered entry no longer decodes.
                raise CheckFailed(
                    f"{log}: tampered log: an entry no longer decodes ({e}); no report written"
                ) from None
    finally:
        store.close()
    if not verdict.ok:
        typer.echo(f"TAMPERED LOG: {log} fails verification ({verdict}); the report says so", err=True)
    typer.echo(str(written))


def register(app: typer.Typer) -> None:
    app.command("report")(report)
