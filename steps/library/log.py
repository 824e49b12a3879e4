"""Steps that read the scenario's event log: sequences of entries, presence, and the hash chain."""

from __future__ import annotations

from steps import describe
from steps import values as V
from steps.context import Scenario
from steps.errors import StepInputError
from steps.registry import then
from steps.tables import Table, same
from system.eventlog import LoggedEvent, record_types


def _known(kind: str) -> str:
    """``kind`` if the build has that record type: a misspelt one would make a "no X" step pass
    for ever and an "X" step fail without saying why."""
    kinds = record_types()
    if kind not in kinds:
        close = sorted(k for k in kinds if k.lower()[:4] == kind.lower()[:4]) or sorted(kinds)[:12]
        raise StepInputError(f"no record type {kind!r} in this build (did you mean: {', '.join(close)}?)")
    return kind


def _fields(ctx: Scenario, ev: LoggedEvent) -> dict[str, str]:
    p = describe.payload(ev, ctx.instruments, ctx.name_of)
    p["time"] = V.local(ev.valid_time, ctx.zone())
    p["event"] = ev.type
    if "order_id" in p:
        p["order"] = p["order_id"]
    return p


def _cell(got: dict[str, str], column: str) -> str:
    return got.get(column.replace(" ", "_"), got.get(column, ""))


def _misses(ctx: Scenario, ev: LoggedEvent, row: dict[str, str]) -> list[tuple[str, str, str]]:
    """The columns of ``row`` that ``ev`` does not match: (column, expected, got)."""
    got = _fields(ctx, ev)
    return [(k, v, _cell(got, k)) for k, v in row.items() if k != "event" and not same(v, _cell(got, k))]


def _matches(ctx: Scenario, ev: LoggedEvent, row: dict[str, str]) -> bool:
    return ev.type == row["event"] and not _misses(ctx, ev, row)


def _near(ctx: Scenario, ev: LoggedEvent, row: dict[str, str]) -> str:
    line = "  " + describe.line(ev, ctx.instruments, ctx.zone(), ctx.name_of)
    cols = "; ".join(f"{k}: expected {want}, got {got or '(none)'}" for k, want, got in _misses(ctx, ev, row))
    return f"{line}\n      ✗ {cols}"


@then("the log contains, in order:", "Then the log contains, in order:\n  | event | order | reason |")
def log_in_order(ctx: Scenario, table: Table) -> None:
    """These entries appear in the log in this order (others may come between). Column 'event' is
    the record type (events and commands); other columns are its fields ('order' for order_id,
    'time' as local HH:MM:SS, prices and quantities as decimals in the instrument's units). A cross
    fill's 'price' is in its own book's units; 'cross price' is the converted price in the
    'cross instrument' (the aggressor's book), 'fx rate' the rate used. A miss shows the nearest
    entries with the columns that differ."""
    if "event" not in table.headers:
        raise StepInputError("the log table needs an 'event' column (the record type, like OrderAccepted)")
    for row in table.dicts():
        _known(row["event"])
    events = ctx.events()
    pos = 0
    found: list[str] = []
    for i, row in enumerate(table.dicts()):
        j = next((k for k in range(pos, len(events)) if _matches(ctx, events[k], row)), None)
        if j is None:
            wanted = " ".join(f"{k}={v}" for k, v in row.items())
            seen = "\n".join(f"  ✓ row {n + 1}: {f}" for n, f in enumerate(found)) or "  (none)"
            near = [e for e in events[pos:] if e.type == row["event"]]
            hint = (
                "Entries of that type after the previous match:\n"
                + "\n".join(_near(ctx, e, row) for e in near[:8])
                if near
                else f"No {row['event']} after the previous match."
            )
            tail = describe.recent(events, ctx.instruments, ctx.zone(), ctx.name_of, limit=12)
            raise AssertionError(
                f"The log lacks row {i + 1} of the table, in order: {wanted}\n"
                f"Matched so far:\n{seen}\n{hint}\n{tail}"
            )
        found.append(describe.line(events[j], ctx.instruments, ctx.zone(), ctx.name_of))
        pos = j + 1


@then("the log contains a {kind:Word}", "Then the log contains a MarginWarning")
def log_has(ctx: Scenario, kind: str) -> None:
    """At least one entry of that record type."""
    _known(kind)
    assert any(e.type == kind for e in ctx.events()), f"the log has no {kind}\n" + describe.recent(
        ctx.events(), ctx.instruments, ctx.zone(), ctx.name_of
    )


@then("the log contains no {kind:Word}", "Then the log contains no TradeExecuted")
def log_lacks(ctx: Scenario, kind: str) -> None:
    """No entry of that record type."""
    _known(kind)
    hits = [e for e in ctx.events() if e.type == kind]
    assert not hits, f"the log has {len(hits)} {kind}:\n" + "\n".join(
        "  " + describe.line(e, ctx.instruments, ctx.zone(), ctx.name_of) for e in hits[:8]
    )


@then("the log verifies", "Then the log verifies")
def log_verifies(ctx: Scenario) -> None:
    """Every entry chains to the one before it (nothing altered, missing or moved)."""
    verdict = ctx.system().verify_log()
    assert verdict.ok, f"the log does not verify: {verdict}"
