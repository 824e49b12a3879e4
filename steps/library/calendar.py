"""Steps that ask a venue's calendar directly: sessions, breaks, phases at an instant, the next open,
and whether a date's rules are published or projected. None of them starts the system or runs the
clock, so a scenario can check a calendar on its own. Times are in the venue's zone unless the
text names one; a time without a date is on the scenario's date."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from steps import values as V
from steps.context import DEFAULT_DATE, Scenario
from steps.errors import StepInputError
from steps.registry import then
from steps.tables import Table, diff

SESSION_COLUMNS = ("open", "close", "breaks", "kind", "projected", "pre-open")


def _cal(ctx: Scenario, venue: str) -> Any:
    return ctx.calendar_of(venue)


def _when(ctx: Scenario, text: str, tz: ZoneInfo) -> int:
    """An instant in the venue's zone unless the text names one; the scenario's date unless it
    gives one. Never starts the system."""
    day = ctx.start_date or DEFAULT_DATE
    return V.instant(text, day, tz)


def _hm(t_ns: int, tz: ZoneInfo, on: date) -> str:
    """HH:MM (with :SS when not whole), and the date when it is not ``on``."""
    text = V.local(t_ns, tz)
    text = text[:-3] if text.endswith(":00") and "." not in text else text
    day = V.local(t_ns, tz, with_date=True)[:10]
    return text if day == on.isoformat() else f"{day} {text}"


def _session(ctx: Scenario, venue: str, d: str) -> tuple[Any, Any, date]:
    cal = _cal(ctx, venue)
    day = V.day(d)
    return cal, _ask(cal.session, day), day


@then("{venue:Venue} has no session on {d:Date}", "Then XTKS has no session on 2031-12-31")
def no_session(ctx: Scenario, venue: str, d: str) -> None:
    """The venue's calendar has no trading day then (a holiday or a weekend)."""
    s = _ask(ctx.calendar_of(venue).session, V.day(d))
    assert s is None, f"{venue} has a {s.kind} session on {d}" if s else ""


@then("{venue:Venue} has a session on {d:Date}", "Then XTKS has a session on 2031-12-30")
def has_session(ctx: Scenario, venue: str, d: str) -> None:
    """The venue's calendar trades that day."""
    s = _ask(ctx.calendar_of(venue).session, V.day(d))
    assert s is not None, f"{venue} has no session on {d}"


@then(
    "the session of {venue:Venue} on {d:Date} is:",
    "Then the session of XTKS on 2027-01-04 is:\n  | open | close | breaks |",
)
def session_is(ctx: Scenario, venue: str, d: str, table: Table) -> None:
    """The venue's session that trade date, in its own zone. Columns: open (first auction or
    continuous trading), close, breaks ('11:30-12:30', several separated by commas; 'none'), kind
    (regular, half, early_close...), projected (yes: the date lies past the published holidays),
    pre-open (when orders are first taken). Only the columns given are compared."""
    table.require(SESSION_COLUMNS, "session")
    if len(table.rows) != 1:
        raise StepInputError("the session table has one row under its header")
    _, s, day = _session(ctx, venue, d)
    if s is None:
        raise AssertionError(f"{venue} has no session on {d} (a holiday or a weekend)")
    tz = ZoneInfo(s.tz)
    first = s.transitions[0]
    row = {
        "open": _hm(s.open, tz, day),
        "close": _hm(s.close, tz, day),
        "breaks": ", ".join(f"{_hm(a, tz, day)}-{_hm(b, tz, day)}" for a, b in s.breaks) or "none",
        "kind": s.kind,
        "projected": "yes" if s.projected else "no",
        "pre-open": _hm(first.at, tz, day) if first.at < s.open else "none",
    }
    expected = [{k: _norm(k, v) for k, v in r.items()} for r in table.dicts()]
    problem = diff(f"The {venue} session on {d} differs ({s.tz})", list(table.headers), expected, [row])
    if problem is not None:
        transitions = "\n".join(f"  {_hm(tr.at, tz, day)} {tr.phase}" for tr in s.transitions)
        raise AssertionError(f"{problem}\nIts phases:\n{transitions}")


def _norm(column: str, value: str) -> str:
    v = value.strip()
    if column == "projected":
        return {"true": "yes", "false": "no", "y": "yes", "n": "no"}.get(v.lower(), v.lower())
    if column == "breaks":
        return ", ".join(p.strip().replace(" - ", "-") for p in v.split(",")) if v else "none"
    return v


@then(
    "the phase of {venue:Venue} at {t:Time} is {phase:Phase}",
    "Then the phase of XTKS at 2027-01-04 11:45 is BREAK",
)
def phase_at(ctx: Scenario, venue: str, t: str, phase: str) -> None:
    """The phase the venue's calendar gives that instant (PRE_OPEN, OPENING_AUCTION, CONTINUOUS,
    BREAK, CLOSING_AUCTION, CLOSED; or 'lunch break', 'closed'...), without running the clock."""
    cal = _cal(ctx, venue)
    tz = ZoneInfo(cal.tz)
    at = _when(ctx, t, tz)
    want = V.phase(phase)
    got = _ask(cal.phase, at)
    assert got is want, (
        f"{venue} is in {got} at {V.local(at, tz, with_date=True)} {cal.tz}, expected {want}"
    )


@then(
    "the next open of {venue:Venue} after {t:Time} is {expected:Time}",
    "Then the next open of XTKS after 2026-12-30 15:30 is 2027-01-04 09:00",
)
def next_open(ctx: Scenario, venue: str, t: str, expected: str) -> None:
    """The first open strictly after an instant (holidays and weekends skipped), in the venue's
    zone unless a zone is written; the expected time without a date is on the scenario's date."""
    cal = _cal(ctx, venue)
    tz = ZoneInfo(cal.tz)
    got = _ask(cal.next_open, _when(ctx, t, tz))
    want = _when(ctx, expected, tz)
    assert got == want, (
        f"the next open of {venue} after {t} is {V.local(got, tz, with_date=True)} {cal.tz}, "
        f"expected {V.local(want, tz, with_date=True)} {cal.tz}"
    )


@then(
    "the rules of {venue:Venue} on {d:Date} are {state:Word}",
    "Then the rules of XTKS on 2031-12-30 are projected",
)
def rules_state(ctx: Scenario, venue: str, d: str, state: str) -> None:
    """'published' (holidays known for that date) or 'projected' (past them: the weekly rules
    apply and an unannounced holiday may still appear)."""
    if state not in ("published", "projected", "known"):
        raise StepInputError(f"rules state {state!r} is not published or projected")
    cal = _cal(ctx, venue)
    day = V.day(d)
    projected = _ask(cal.is_projected, day)
    got = "projected" if projected else "published"
    want = "published" if state == "known" else state
    assert got == want, (
        f"the rules of {venue} on {d} are {got} (holidays known until {cal.known_until}), expected {want}"
    )


def _ask(fn: Any, arg: Any) -> Any:
    from sim.clock import CalendarError

    try:
        return fn(arg)
    except CalendarError as e:
        raise StepInputError(str(e)) from None
