"""``chronex diff LOG LOG2``: the orders, trades, positions and account events two runs disagree on."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from chronex.commands.replay import open_existing
from chronex.errors import BadInput
from sim.replay.diff import diff_logs

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
    other: Annotated[str, typer.Argument(help="The log to compare (a re-run or what-if).")],
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Only these kinds: order, trade, position, account.")
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="One JSON object per difference.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 if the logs differ.")] = False,
) -> None:
    """List what differs between two runs of one order flow."""
    kinds = set(kind or _KINDS)
    bad = sorted(kinds - set(_KINDS))
    if bad:
        raise BadInput(f"--kind {bad[0]!r} is not one of {', '.join(_KINDS)}")
    a, b = open_existing(log), open_existing(other)
    try:
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


def register(app: typer.Typer) -> None:
    app.command("diff")(diff)
