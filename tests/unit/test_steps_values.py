"""Scenario values at the edge: decimals to instrument units and back, times, durations, names."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from steps import values as V
from steps.errors import StepInputError
from steps.instruments import default_instrument
from system.clock import from_datetime

TOYOTA = default_instrument("XTKS:7203")
BTC = default_instrument("CRYPTO:BTC/JPY")


@given(st.integers(min_value=1, max_value=10**9))
def test_prices_round_trip_through_their_decimal_text(units: int) -> None:
    """Any int price printed as a decimal reads back as the same int."""
    assert V.raw_price(TOYOTA, V.fmt_price(TOYOTA, units)) == units


@given(st.integers(min_value=1, max_value=10**12))
def test_quantities_round_trip_through_their_decimal_text(units: int) -> None:
    """Any int quantity printed as a decimal reads back as the same int (0.0001 BTC steps)."""
    assert V.raw_qty(BTC, V.fmt_qty(BTC, units)) == units


def test_a_malformed_price_names_the_value_and_instrument() -> None:
    """'25x0' is not a number: the message says so, with the instrument."""
    with pytest.raises(StepInputError, match=r"price '25x0' is not a number for XTKS:7203"):
        V.raw_price(TOYOTA, "25x0")


def test_a_price_off_the_increment_is_refused_at_the_edge() -> None:
    """2500.05 cannot be said in 0.1 yen units."""
    with pytest.raises(StepInputError, match=r"increment 0\.1"):
        V.raw_price(TOYOTA, "2500.05")


def test_unknown_order_type_lists_the_known_ones() -> None:
    """An unknown order type names itself and the choices."""
    with pytest.raises(StepInputError, match=r"order type 'ICEBERG' is unknown \(one of: LIMIT"):
        V.order_type("ICEBERG")


def test_unknown_venue_is_named() -> None:
    """An instrument on an unknown venue fails naming the venue and the known ones."""
    with pytest.raises(StepInputError, match=r"unknown venue 'NOPE' in 'NOPE:7203' \(known venues: CME"):
        default_instrument("NOPE:7203")


@pytest.mark.parametrize(
    ("text", "ns"),
    [("5 minutes", 300 * 10**9), ("1 hour", 3600 * 10**9), ("250 ms", 250 * 10**6), ("a second", 10**9)],
)
def test_durations(text: str, ns: int) -> None:
    """Durations people write become nanoseconds."""
    assert V.duration(text) == ns


def test_instants_take_the_scenario_zone_unless_given() -> None:
    """'10:30' is in the scenario's zone; '10:30 UTC' and a full date say otherwise."""
    tokyo = ZoneInfo("Asia/Tokyo")
    d = date(2027, 1, 4)
    from datetime import datetime

    assert V.instant("10:30", d, tokyo) == from_datetime(datetime(2027, 1, 4, 10, 30, tzinfo=tokyo))
    assert V.instant("01:30 UTC", d, tokyo) == V.instant("10:30", d, tokyo)
    assert V.instant("2027-01-05 09:00", d, tokyo) == from_datetime(datetime(2027, 1, 5, 9, tzinfo=tokyo))


@pytest.mark.parametrize(
    ("word", "phase"), [("lunch break", "BREAK"), ("the close", "CLOSED"), ("PRE_OPEN", "PRE_OPEN")]
)
def test_phase_words(word: str, phase: str) -> None:
    """People's words for phases name the engine's phases."""
    assert V.phase(word) == phase


def test_plain_decimal_text() -> None:
    """Decimals print without exponents or trailing zeros."""
    assert V._plain(Decimal("2500.50")) == "2500.5"
    assert V._plain(Decimal("1E+3")) == "1000"


@given(
    st.decimals(min_value=-(10**12), max_value=10**12, places=4, allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "¥", "$"]),
)
def test_amounts_read_as_written_with_separators_and_symbols(d: Decimal, symbol: str) -> None:
    """An amount written with thousands separators and a currency symbol reads as its number."""
    sign = "-" if d < 0 else ""
    text = f"{sign}{symbol}{abs(d):,f}"
    assert V.amount(text) == d
    assert V.amount(f"{d:f}") == d
    assert V.amount(f"{d:e}") == Decimal(f"{d:e}")


@pytest.mark.parametrize("text", ["1,5", "12,34,567", "1,0000", "¥", "1.2.3", "NaN", "Infinity", "1,000.5,0"])
def test_ambiguous_or_malformed_amounts_are_refused(text: str) -> None:
    """A decimal comma, misplaced separators or a non-number are not read as some other number."""
    assert V.amount(text) is None
    with pytest.raises(StepInputError, match="is not a number"):
        V.decimal(text, "amount")


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31)),
    st.sampled_from(["America/New_York", "Europe/London", "Asia/Tokyo", "Australia/Sydney", "UTC"]),
)
@example(datetime(2021, 3, 14, 2, 30, fold=1), "America/New_York")  # in the gap, fold=1: found by hypothesis
@example(datetime(2021, 11, 7, 1, 30, fold=1), "America/New_York")  # doubled, fold=1
def test_wall_times_resolve_to_the_instant_showing_them_or_are_refused(naive: datetime, zone: str) -> None:
    """A wall time either maps to the one instant whose local reading it is, or is refused as
    skipped or doubled by a daylight-saving change; never silently to another time."""
    from sim.clock.localtime import AmbiguousLocalTime, NonexistentLocalTime, resolve_local
    from system.clock import to_datetime

    tz = ZoneInfo(zone)
    t = naive.replace(microsecond=0).time()
    try:
        ns = resolve_local(naive.date(), t, tz)
    except (NonexistentLocalTime, AmbiguousLocalTime):
        first = datetime.combine(naive.date(), t.replace(fold=0), tzinfo=tz)
        assert first.utcoffset() != first.replace(fold=1).utcoffset()
        return
    back = to_datetime(ns, tz)
    assert (back.date(), back.time()) == (naive.date(), t)


def test_an_ambiguous_local_time_can_be_written_with_the_offset_its_message_suggests() -> None:
    """01:30 on 7 Nov 2027 happens twice in New York; the refusal says 'say which with an offset:
    2027-11-07T01:30:00-04:00', and that text is now a time (it was 'not a time')."""
    ny = ZoneInfo("America/New_York")
    with pytest.raises(StepInputError) as e:
        V.instant("01:30", date(2027, 11, 7), ny)
    suggested = str(e.value).split("say which with an offset: ")[1].split()[0]
    first = V.instant(suggested, date(2027, 11, 7), ny)
    assert first == from_datetime(datetime.fromisoformat("2027-11-07T05:30:00+00:00"))
    assert V.instant("2027-11-07T01:30:00-05:00", date(2027, 11, 7), ny) == first + 3600 * 10**9
    assert V.instant("2027-11-07T06:30:00.25Z", date(2027, 11, 7), ny) == first + 3600 * 10**9 + 250_000_000
    with pytest.raises(StepInputError, match="an offset needs its date"):
        V.instant("01:30-04:00", date(2027, 11, 7), ny)
    with pytest.raises(StepInputError, match=r"'\+99:00' is not a UTC offset"):
        V.instant("2027-11-07T01:30:00+99:00", date(2027, 11, 7), ny)
