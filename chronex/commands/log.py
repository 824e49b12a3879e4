"""``chronex log show`` and ``chronex log verify``.

Both read stored bytes, not record classes: a log written by any part of Chronex can be listed and
verified by a process that never imported the modules that defined its records.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from chronex.errors import BadInput, CheckFailed
from chronex.timearg import parse_instant, parse_zone
from system.clock import FixedClock, iso
from system.eventlog import EventStore, LoggedEvent, Verdict, open_log, record_types, verify
from system.eventlog.codec import body_decoder, decode_record

log_app = typer.Typer(help="Inspect and verify event logs.", no_args_is_help=True)
out = Console(highlight=False)


def open_existing(path: str) -> EventStore:
    """Open a log read-only: it must exist and be a Chronex log (else a clear error, exit 2)."""
    return open_log(path, FixedClock(0), readonly=True)


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


def entries(store: EventStore) -> Iterator[dict[str, Any]]:
    """Every entry as a plain dict; payloads of record types this process does not know are shown
    as stored (their msgpack map) instead of failing."""
    known = record_types()
    for raw in store.read_raw(1):
        b = body_decoder.decode(raw.body)
        if b.type in known:
            payload = msgspec.to_builtins(decode_record(b.type, b.payload, b.schema_version))
        else:
            payload = msgspec.msgpack.decode(b.payload)
        yield {
            "seq": b.seq,
            "stream": b.stream,
            "stream_version": b.stream_version,
            "type": b.type,
            "schema_version": b.schema_version,
            "valid_time": b.valid_time,
            "recorded_time": b.recorded_time,
            "correlation_id": b.correlation_id,
            "causation_id": b.causation_id,
            "payload": payload,
            "hash": raw.hash.hex(),
        }


def _stream_matches(pattern: str | None, stream: str) -> bool:
    if pattern is None:
        return True
    if pattern.endswith("*"):
        return stream.startswith(pattern[:-1])
    return stream == pattern


@log_app.command("show")
def show(
    log: Annotated[str, typer.Argument(help="Log path or URL.")],
    from_: Annotated[str | None, typer.Option("--from", help="Earliest valid time.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Latest valid time.")] = None,
    type_: Annotated[list[str] | None, typer.Option("--type", help="Record type (repeatable).")] = None,
    stream: Annotated[
        str | None, typer.Option("--stream", help="Only this stream (prefix* allowed).")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows (0: all).")] = 0,
    tz: Annotated[str, typer.Option(help="Zone to show times in.")] = "UTC",
    json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List the log's entries, filtered by valid time, type and stream."""
    t_from = parse_instant(from_, what="--from") if from_ else None
    t_to = parse_instant(to, what="--to") if to else None
    if t_from is not None and t_to is not None and t_from > t_to:
        raise BadInput(f"--from {from_!r} is after --to {to!r}")
    parse_zone(tz, "--tz")
    if limit < 0:
        raise BadInput(f"--limit {limit} is negative")
    types = set(type_ or ())
    store = open_existing(log)
    rows: list[dict[str, Any]] = []
    seen_types: set[str] = set()
    for e in entries(store):
        seen_types.add(e["type"])
        if t_from is not None and e["valid_time"] < t_from:
            continue
        if t_to is not None and e["valid_time"] > t_to:
            continue
        if types and e["type"] not in types:
            continue
        if not _stream_matches(stream, e["stream"]):
            continue
        if not limit or len(rows) < limit:
            rows.append(e)
    store.close()
    unknown = sorted(types - seen_types - set(record_types()))
    if unknown:
        raise BadInput(f"--type {unknown[0]!r} is not a record type (none in this log, none known)")
    if json:
        enc = msgspec.json.Encoder()
        for e in rows:
            typer.echo(enc.encode(e).decode())
        return
    table = Table(title=f"{log}: {len(rows)} entries", show_lines=False)
    for col in ("seq", "valid time", "stream", "type", "payload"):
        table.add_column(col, overflow="fold")
    for e in rows:
        payload = e["payload"]
        text = (
            " ".join(f"{k}={v}" for k, v in payload.items()) if isinstance(payload, dict) else str(payload)
        )
        table.add_row(str(e["seq"]), iso(e["valid_time"], tz), e["stream"], e["type"], text)
    # Piped to a file or a test, rich assumes 80 columns and folds cells; wide rows read better.
    (out if out.is_terminal else Console(highlight=False, width=200)).print(table)


@log_app.command("verify")
def verify_cmd(
    log: Annotated[str, typer.Argument(help="Log path or URL.")],
    json: Annotated[bool, typer.Option("--json", help="The verdict as one JSON object.")] = False,
    head: Annotated[
        str | None,
        typer.Option(
            "--head",
            help="The head hash you recorded elsewhere (a prefix of 8+ hex digits will do): "
            "catches entries cut off the end, which the chain alone cannot.",
        ),
    ] = None,
) -> None:
    """Walk the hash chain. Exit 0 with the count and head hash, or 1 naming the first bad seq."""
    want = _expected_head(head)
    store = open_existing(log)
    try:
        v = verify(store)
        if v.ok and want is not None and not v.head_hash.hex().startswith(want):
            v = _check_head(store, v, want)
    finally:
        store.close()
    if json:
        typer.echo(
            msgspec.json.encode(
                {
                    "ok": v.ok,
                    "count": v.count,
                    "head_hash": v.head_hash.hex(),
                    "bad_seq": v.bad_seq,
                    "problem": v.problem,
                }
            ).decode()
        )
        if not v.ok:
            raise typer.Exit(1)
        return
    if not v.ok:
        raise CheckFailed(f"{log}: {v}")
    # typer.echo, not rich: the line must never wrap (scripts read the hash from it).
    typer.echo(f"{log}: ok, {v.count} events, head hash {v.head_hash.hex()}")


def _expected_head(text: str | None) -> str | None:
    if text is None:
        return None
    h = text.strip().lower()
    if len(h) < 8 or len(h) > 64 or any(c not in "0123456789abcdef" for c in h):
        raise BadInput(f"--head {text!r} is not a hash (8 to 64 hex digits)")
    return h


def _check_head(store: EventStore, v: Verdict, want: str) -> Verdict:
    """The chain is sound but ends elsewhere than expected: say whether the expected head is an
    earlier entry (the log grew since) or absent (entries were removed, or it is another log)."""
    for raw in store.read_raw(1):
        if raw.hash.hex().startswith(want):
            return v  # the recorded head is an earlier entry: later appends, nothing lost
    return Verdict(
        False, v.count, v.head_hash, v.count + 1,
        f"expected head {want} is not in this log (it ends at seq {v.count}): "
        "entries were removed from the end, or this is another log",
    )


def register(app: typer.Typer) -> None:
    app.add_typer(log_app, name="log")
