"""``chronex log show`` and ``chronex log verify``.

Both read stored bytes, not record classes: a log written by any part of Chronex can be listed and
verified by a process that never imported the modules that defined its records.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Annotated, Any

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from chronex.errors import BadInput, CheckFailed
from chronex.timearg import needs_a_day, parse_instant, parse_zone
from system.clock import FixedClock, iso
from system.eventlog import (
    EventStore,
    LogDamaged,
    LoggedEvent,
    RawEntry,
    Verdict,
    open_log,
    record_types,
    verify,
)
from system.eventlog.codec import GENESIS_HASH, body_decoder, decode_record

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


def _entry(raw: RawEntry, known: set[str] | frozenset[str]) -> dict[str, Any]:
    b = body_decoder.decode(raw.body)
    if b.type in known:
        payload = msgspec.to_builtins(decode_record(b.type, b.payload, b.schema_version))
    else:
        payload = msgspec.msgpack.decode(b.payload)
    return {
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


def entries(store: EventStore, keep: Callable[[RawEntry], bool] | None = None) -> Iterator[dict[str, Any]]:
    """Every entry (``keep`` filters on the stored columns, before any decoding) as a plain dict;
    payloads of record types this process does not know are shown as stored (their msgpack
    map) instead of failing."""
    known = frozenset(record_types())
    for raw in store.read_raw(1):
        if keep is None or keep(raw):
            yield _entry(raw, known)


def _stream_matches(pattern: str | None, stream: str) -> bool:
    if pattern is None:
        return True
    if pattern.endswith("*"):
        return stream.startswith(pattern[:-1])
    return stream == pattern


# Payload fields in instrument units, shown as the decimals people read (--json keeps the ints).
_PRICES = {"price", "stop_price", "old_price", "reference_price", "trigger_price", "cross_price"}
_QTYS = {"qty", "leaves", "display_qty", "old_qty", "imbalance_qty"}
DEFAULT_ROWS = 50
PLAIN_ABOVE = 500  # rows beyond which a table is printed as plain aligned lines


def _increments(store: EventStore) -> dict[str, tuple[Decimal, Decimal]]:
    """Instrument id -> (price increment, qty increment) from the run's configuration."""
    # Imported here: `log verify` must start without the replayer, the engine or the calendars.
    from sim.replay.config import recorded_config

    try:
        return {
            i.id: (Decimal(i.price_increment), Decimal(i.qty_increment))
            for i in recorded_config(store).instruments
        }
    except Exception:  # a log from elsewhere (no or foreign configuration) shows raw units
        return {}


def _zone(store: EventStore) -> str:
    from chronex.commands.replay import log_zone

    try:
        return log_zone(store)[0]
    except Exception:  # a log from elsewhere (no or foreign configuration): UTC
        return "UTC"


def _payload_text(payload: Any, units: dict[str, tuple[Decimal, Decimal]]) -> str:
    if not isinstance(payload, dict):
        return str(payload)
    inst = payload.get("instrument")
    inc = units.get(inst) if isinstance(inst, str) else None
    parts = []
    for k, v in payload.items():
        if inc is not None and isinstance(v, int) and not isinstance(v, bool):
            if k in _PRICES:
                v = v * inc[0]
            elif k in _QTYS:
                v = v * inc[1]
        parts.append(f"{k}={v}")
    return " ".join(parts)


@log_app.command("show")
def show(
    log: Annotated[str, typer.Argument(help="Log path or URL.")],
    from_: Annotated[str | None, typer.Option("--from", help="Earliest valid time.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Latest valid time.")] = None,
    type_: Annotated[list[str] | None, typer.Option("--type", help="Record type (repeatable).")] = None,
    stream: Annotated[
        str | None, typer.Option("--stream", help="Only this stream (prefix* allowed).")
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            help=f"At most this many rows (0: all; default {DEFAULT_ROWS} in tables, all with --json)."
        ),
    ] = None,
    tz: Annotated[
        str | None, typer.Option(help="Zone to show times in (default: the log's first venue's).")
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List the log's entries, filtered by valid time, type and stream."""
    t_from = parse_instant(from_, what="--from") if from_ and not needs_a_day(from_) else None
    t_to = parse_instant(to, what="--to") if to and not needs_a_day(to) else None
    if any(v and needs_a_day(v) for v in (from_, to)):  # '09:00 Asia/Tokyo': on the log's day
        from chronex.commands.replay import log_zone, on_log_day

        probe = open_existing(log)
        try:
            _, day = log_zone(probe)
            if from_ and needs_a_day(from_):
                t_from = on_log_day(probe, from_, day, "--from")
            if to and needs_a_day(to):
                t_to = on_log_day(probe, to, day, "--to")
        finally:
            probe.close()
    if t_from is not None and t_to is not None and t_from > t_to:
        raise BadInput(f"--from {from_!r} is after --to {to!r}")
    if tz is not None:
        parse_zone(tz, "--tz")
    if limit is not None and limit < 0:
        raise BadInput(f"--limit {limit} is negative")
    cap = limit if limit is not None else (0 if json else DEFAULT_ROWS)
    types = set(type_ or ())
    store = open_existing(log)
    seen_types: set[str] = set()
    lo = t_from if t_from is not None else -(1 << 63)
    hi = t_to if t_to is not None else (1 << 63) - 1

    def keep(raw: RawEntry) -> bool:
        seen_types.add(raw.type)
        return (
            lo <= raw.valid_time <= hi
            and (not types or raw.type in types)
            and _stream_matches(stream, raw.stream)
        )

    try:
        rows: list[dict[str, Any]] = []
        more = False
        altered: list[int] = []
        for e in entries(store, keep):
            # The filter reads the index columns; the entry shown is its hashed body. Where they
            # disagree the column was edited: leave the entry out and say so.
            if not lo <= e["valid_time"] <= hi or (types and e["type"] not in types):
                altered.append(e["seq"])
                continue
            if cap and len(rows) >= cap:
                more = True
                break
            rows.append(e)
        if altered:
            typer.echo(
                f"warning: {log}: seq {', '.join(map(str, altered[:5]))}"
                f"{' ...' if len(altered) > 5 else ''}: an index column disagrees with the hashed "
                "body, so the entry was left out (chronex log verify names the change)",
                err=True,
            )
        unknown = sorted(types - set(record_types()))
        if unknown and not more:
            unknown = sorted(set(unknown) - seen_types)
        elif unknown:  # stopped early: look at the rest of the log's types before refusing
            unknown = sorted(set(unknown) - {r.type for r in store.read_raw(1)})
        if unknown:
            raise BadInput(f"--type {unknown[0]!r} is not a record type (none in this log, none known)")
        zone = tz if tz is not None or json else _zone(store)
        units = {} if json else _increments(store)
    finally:
        store.close()
    if json:
        enc = msgspec.json.Encoder()
        for e in rows:
            typer.echo(enc.encode(e).decode())
        return
    shown = f"the first {len(rows)} entries (--limit 0 for all)" if more else f"{len(rows)} entries"
    title = f"{log}: {shown}, times in {zone}"
    cells = [
        (
            str(e["seq"]),
            iso(e["valid_time"], zone),
            e["stream"],
            e["type"],
            _payload_text(e["payload"], units),
        )
        for e in rows
    ]
    if len(cells) > PLAIN_ABOVE:
        _plain(title, cells)
        return
    table = Table(title=title, show_lines=False)
    for col in ("seq", "valid time", "stream", "type"):
        table.add_column(col, no_wrap=True)
    # On a terminal each entry stays one line, cut to its width; piped, payloads are kept whole.
    table.add_column("payload", overflow="ellipsis" if out.is_terminal else "fold", no_wrap=out.is_terminal)
    for c in cells:
        table.add_row(*c)
    # Piped to a file or a test, rich assumes 80 columns and folds cells; wide rows read better
    # (COLUMNS, read now, still decides).
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() else 200
    (out if out.is_terminal else Console(highlight=False, width=width)).print(table)


def _plain(title: str, cells: list[tuple[str, str, str, str, str]]) -> None:
    """Many rows as aligned plain lines: a rich table lays out every cell first, which took
    most of a minute for 8.5k trades; this is one formatted line per entry."""
    head = ("seq", "valid time", "stream", "type", "payload")
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(head[:4])]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths) + "  {}"
    lines = [title, fmt.format(*head), *(fmt.format(*c) for c in cells)]
    typer.echo("\n".join(lines))


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
    """Walk the hash chain. Exit 0 with the count and head hash (and whether the run finished), or 1."""
    want = _expected_head(head)
    try:
        store = open_existing(log)
    except LogDamaged as e:  # a log whose file cannot be read fails verification: exit 1, not 2
        _report(log, Verdict(False, 0, GENESIS_HASH, None, e.detail), json)
        return
    try:
        v = verify(store)
        if v.ok and want is not None and not v.head_hash.hex().startswith(want):
            v = _check_head(store, v, want)
    finally:
        store.close()
    _report(log, v, json)


def _report(log: str, v: Verdict, json: bool) -> None:
    if json:
        typer.echo(
            msgspec.json.encode(
                {
                    "ok": v.ok,
                    "count": v.count,
                    "head_hash": v.head_hash.hex(),
                    "bad_seq": v.bad_seq,
                    "problem": v.problem,
                    "complete": v.complete,
                    "incomplete": v.incomplete,
                    "served": v.served,
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
    if v.incomplete is not None and v.served is not None:
        typer.echo(f"{log}: served log: {v.incomplete}")
    elif v.incomplete is not None:  # still exit 0: the chain is sound, the run just did not finish
        typer.echo(f"{log}: incomplete: {v.incomplete}")


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
        False,
        v.count,
        v.head_hash,
        v.count + 1,
        f"expected head {want} is not in this log (it ends at seq {v.count}): "
        "entries were removed from the end, or this is another log",
    )


def register(app: typer.Typer) -> None:
    app.add_typer(log_app, name="log")
