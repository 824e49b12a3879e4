"""Steps for the clock and time travel: dates, times, phases reached by the calendar, durations."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from steps import values as V
from steps.context import Scenario
from steps.errors import StepInputError
from steps.registry import given, then, when
from system.clock import to_datetime
from system.engine import Phase


@given("the date is {d:Date} in {zone:Zone}", "Given the date is 2027-01-04 in Asia/Tokyo")
def date_in_zone(ctx: Scenario, d: str, zone: str) -> None:
    """Start the scenario at local midnight of that date; the venues' calendars drive the phases."""
    _before_start(ctx, "the date")
    ctx.start_date, ctx.tz, ctx.calendar = V.day(d), V.zone(zone), True


@given("it is {d:Date} on {venue:Venue}", "Given it is 2031-12-30 on XTKS")
def date_on_venue(ctx: Scenario, d: str, venue: str) -> None:
    """Start at local midnight of that date in the venue's zone, its calendar driving its phases."""
    _before_start(ctx, "the date")
    ctx.add_venue(venue)
    ctx.start_date, ctx.calendar = V.day(d), True
    ctx.tz = V.zone(ctx.calendar_of(venue).tz)


@given("it is {d:Date} {t:Word} on {venue:Venue}", "Given it is 2027-01-04 10:00 on XTKS")
def datetime_on_venue(ctx: Scenario, d: str, t: str, venue: str) -> None:
    """Start at that local time of that date in the venue's zone (the venue synced to its phase)."""
    date_on_venue(ctx, d, venue)
    ns = V.instant(t, ctx.start_date or V.day(d), ctx.zone())
    ctx.start_time = to_datetime(ns, ctx.zone()).time()


@given("the time is {t:Time}", "Given the time is 10:00")
def time_is(ctx: Scenario, t: str) -> None:
    """Before the system starts: its start time. After: run the clock to that time (never back)."""
    if not ctx.started:
        ns = V.instant(t, ctx.start_date or ctx.today(), ctx.zone())
        local = to_datetime(ns, ctx.zone())
        ctx.start_date, ctx.start_time = local.date(), local.time()
        return
    _run_to(ctx, ctx.instant(t), t)


@when("the clock advances to {target:Text}", "When the clock advances to the lunch break")
def advance_to(ctx: Scenario, target: str) -> None:
    """Run the clock to a time ('10:30', '10:30 America/Chicago', '2027-01-05 09:00') or to the next
    entry into a phase ('the lunch break', 'the closing auction', 'the close', 'the open'), or 'the
    next trading day', of the scenario's venue or of the one named ('the close on CME'). Timers
    fire on the way."""
    text = target.strip()
    venue = None
    m = re.fullmatch(r"(.+?) (?:on|of) ([A-Za-z][A-Za-z0-9_\-]*)", text)
    if m and not re.search(r"\d:\d", text):
        text, venue = m[1], m[2]
    if re.search(r"\d{1,2}:\d{2}", text):
        _run_to(ctx, ctx.instant(text), target)
        return
    if text in ("the next trading day", "the next open"):
        _run_to(ctx, _calendar(ctx, venue).next_open(ctx.now()), target)  # type: ignore[attr-defined]
        return
    phase = V.phase(text)
    _run_to(ctx, _next_phase_time(ctx, phase, venue, target), target)


@when("{d:Duration} pass", "When 5 minutes pass")
def time_passes(ctx: Scenario, d: str) -> None:
    """Let that much virtual time go by; timers and simulators run on the way."""
    ctx.system().advance(V.duration(d))


@when("{d:Duration} passes", "When 1 hour passes")
def time_passes_one(ctx: Scenario, d: str) -> None:
    """The same, for a single unit."""
    ctx.system().advance(V.duration(d))


@when("the clock advances by {d:Duration}", "When the clock advances by 90 seconds")
def advance_by(ctx: Scenario, d: str) -> None:
    """Let that much virtual time go by."""
    ctx.system().advance(V.duration(d))


@then("the time is {t:Time}", "Then the time is 11:30")
def time_check(ctx: Scenario, t: str) -> None:
    """The virtual clock reads that time: in the scenario's zone unless one is given, on today's
    date in that zone unless a date is given ('07:00 Asia/Tokyo', '2027-01-05 07:00 Asia/Tokyo')."""
    _check_time(ctx, t, ctx.instant(t))


@then("it is {t:Time} in {zone:Zone}", "Then it is 2027-01-05 07:00 in Asia/Tokyo")
def time_in_zone(ctx: Scenario, t: str, zone: str) -> None:
    """The clock reads that date and time in that zone (the date may be left out: today there)."""
    tz = V.zone(zone)
    _check_time(ctx, f"{t} {zone}", V.instant(t, ctx.today_in, tz), tz)


def _check_time(ctx: Scenario, text: str, want: int, tz: ZoneInfo | None = None) -> None:
    now = ctx.now()
    if now == want:
        return
    zones = [ctx.zone()]
    m = re.search(r"([A-Za-z_]+/[A-Za-z_+\-0-9/]+|UTC)$", text.strip())
    named = tz or (V.zone(m[1]) if m else None)
    if named is not None and named.key != zones[0].key:
        zones.insert(0, named)
    z = zones[0]
    got = " = ".join(f"{V.local(now, x, with_date=True)} {x.key}" for x in zones)
    raise AssertionError(
        f"the clock reads {got}, expected {V.local(want, z, with_date=True)} {z.key} (from {text!r}); "
        f"{_gap(now - want)}"
    )


def _gap(delta: int) -> str:
    secs = abs(delta) / 1e9
    unit = f"{secs / 3600:g} h" if secs >= 3600 else f"{secs / 60:g} min" if secs >= 60 else f"{secs:g} s"
    return f"the clock is {unit} {'ahead' if delta > 0 else 'behind'}"


@then("the date is {d:Date}", "Then the date is 2027-01-05")
def date_check(ctx: Scenario, d: str) -> None:
    """The local date in the scenario's zone."""
    want, got = V.day(d), ctx.today()
    assert got == want, f"the local date is {got}, expected {want}"


@then("the trade date on {venue:Venue} is {d:Date}", "Then the trade date on CME is 2027-01-05")
def trade_date(ctx: Scenario, venue: str, d: str) -> None:
    """The venue's trade date now (a Globex evening already belongs to the next day)."""
    got = ctx.calendar_of(venue).trade_date(ctx.now())
    assert got == V.day(d), f"the trade date on {venue} is {got}, expected {d}"


def _before_start(ctx: Scenario, what: str) -> None:
    if ctx.started:
        raise StepInputError(f"{what} must be set before the system starts (move this step up)")


def _run_to(ctx: Scenario, t_ns: int, text: str) -> None:
    drv = ctx.system()
    if t_ns < drv.now():
        now = V.local(drv.now(), ctx.zone(), with_date=True)
        raise StepInputError(f"{text!r} is in the past (the clock reads {now}); the clock never goes back")
    drv.run_until(t_ns)


def _calendar(ctx: Scenario, venue: str | None) -> object:
    v = venue or (ctx.venues[0] if ctx.venues else None)
    if v is None:
        raise StepInputError(
            "no venue set up to take the calendar from (add 'Given it is 2027-01-04 on XTKS')"
        )
    return ctx.calendar_of(v)


def _next_phase_time(ctx: Scenario, phase: Phase, venue: str | None, text: str) -> int:
    cal = _calendar(ctx, venue)
    now = ctx.now()
    horizon = now + 10 * 86_400 * 1_000_000_000
    for tr, _session in cal.transitions(now + 1, horizon):  # type: ignore[attr-defined]
        if tr.phase is phase:
            return int(tr.at)
    raise StepInputError(f"{text!r}: {cal} does not enter {phase} within ten days")
