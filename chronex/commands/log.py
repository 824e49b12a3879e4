"""``chronex log show`` and ``chronex log verify``."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from chronex.errors import BadInput, CheckFailed
from chronex.timearg import parse_instant
from system.clock import FixedClock, iso
from system.eventlog import LoggedEvent, open_log, verify

log_app = typer.Typer(help="Inspect and verify event logs.", no_args_is_help=True)
out = Console(highlight=False)


def open_existing(path: str):  # type: ignore[no-untyped-def]
    """Open a log for reading: it must exist and be a Chronex log (else a clear error, exit 2)."""
    return open_log(path, FixedClock(0), create=False)


def event_dict(ev: LoggedEvent) -> dict[str, Any]:
    return {
        "seq": ev.seq,
        "stream": ev.stream,
        "stream_version": ev.stream_version,
        "type": ev.type,
        "schema_version": ev.schema_version,
        "valid_time": ev.valid_time,
        "recorded_time": ev.recorded_time,
        "correlation_id": ev.correlation_id,
        "causation_id": ev.causation_id,
        "payload": msgspec.to_builtins(ev.record),
        "hash": ev.hash.hex(),
    }


@log_app.command("show")
def show(
    log: Annotated[str, typer.Argument(help="Log path or URL.")],
    from_: Annotated[str | None, typer.Option("--from", help="Earliest valid time.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Latest valid time.")] = None,
    type_: Annotated[list[str] | None, typer.Option("--type", help="Record type (repeatable).")] = None,
    stream: Annotated[str | None, typer.Option("--stream", help="Only this stream (prefix* allowed).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows (0: all).")] = 0,
    tz: Annotated[str, typer.Option(help="Zone to show times in.")] = "UTC",
    json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List the log's entries, filtered by valid time, type and stream."""
    t_from = parse_instant(from_, what="--from") if from_ else None
    t_to = parse_instant(to, what="--to") if to else None
    types = set(type_ or ())
    store = open_existing(log)
    if types:
        from system.eventlog import record_types

        unknown = sorted(types - set(record_types()))
        if unknown:
            raise BadInput(f"--type {unknown[0]!r} is not a known record type")
    rows = []
    for ev in store.read(1):
        if t_from is not None and ev.valid_time < t_from:
            continue
        if t_to is not None and ev.valid_time > t_to:
            continue
        if types and ev.type not in types:
            continue
        if stream and not (ev.stream == stream or (stream.endswith("*") and ev.stream.startswith(stream[:-1]))):
            continue
        rows.append(ev)
        if limit and len(rows) >= limit:
            break
    if json:
        enc = msgspec.json.Encoder()
        for ev in rows:
            typer.echo(enc.encode(event_dict(ev)).decode())
        return
    table = Table(title=f"{log}: {len(rows)} entries", show_lines=False)
    for col in ("seq", "valid time", "stream", "type", "payload"):
        table.add_column(col, overflow="fold")
    for ev in rows:
        payload = " ".join(f"{k}={v}" for k, v in msgspec.to_builtins(ev.record).items())
        table.add_row(str(ev.seq), iso(ev.valid_time, tz), ev.stream, ev.type, payload)
    out.print(table)


@log_app.command("verify")
def verify_cmd(
    log: Annotated[str, typer.Argument(help="Log path or URL.")],
    json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Walk the hash chain. Exit 0 with the count and head hash, or 1 naming the first bad seq."""
    store = open_existing(log)
    v = verify(store)
    if json:
        typer.echo(msgspec.json.encode({
            "ok": v.ok, "count": v.count, "head_hash": v.head_hash.hex(),
            "bad_seq": v.bad_seq, "problem": v.problem,
        }).decode())
        if not v.ok:
            raise typer.Exit(1)
        return
    if not v.ok:
        raise CheckFailed(f"{log}: {v}")
    out.print(f"{log}: ok, {v.count} events, head hash {v.head_hash.hex()}")


def register(app: typer.Typer) -> None:
    app.add_typer(log_app, name="log")
