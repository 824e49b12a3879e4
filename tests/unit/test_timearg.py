"""Instants people type on the command line."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chronex.errors import BadInput
from chronex.timearg import parse_date, parse_instant
from system.clock import from_datetime, iso

NOON_UTC = from_datetime(datetime(2027, 1, 4, 12, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    "text",
    [
        "2027-01-04T12:00:00Z",
        "2027-01-04T21:00:00+09:00",
        "2027-01-04 21:00 Asia/Tokyo",
        "2027-01-04T21:00 Asia/Tokyo",
        str(NOON_UTC),
    ],
)
def test_same_instant_in_every_spelling(text: str) -> None:
    """ISO with offset, date + time + zone name, and integer ns all name the same instant."""
    assert parse_instant(text) == NOON_UTC


def test_time_of_day_uses_the_given_date_and_keeps_nanoseconds() -> None:
    """'HH:MM:SS.fffffffff Zone' takes its date from `on` and keeps all nine digits."""
    got = parse_instant("21:00:00.000000123 Asia/Tokyo", on=date(2027, 1, 4))
    assert got == NOON_UTC + 123


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("noon", "'noon' is not a time"),
        ("2027-01-04T12:00", "has no time zone"),
        ("12:00 Asia/Tokyo", "no date given"),
        ("2027-01-04 12:00 Atlantis/Lost", "unknown time zone 'Atlantis/Lost'"),
        ("2027-01-04 25:00 Asia/Tokyo", "is not a time of day"),
    ],
)
def test_bad_instants_name_the_value(text: str, needle: str) -> None:
    """Bad text raises BadInput naming what was typed."""
    with pytest.raises(BadInput, match=needle):
        parse_instant(text, what="--at")


def test_parse_date() -> None:
    """Dates are YYYY-MM-DD; anything else names the value."""
    assert parse_date("2027-01-04") == date(2027, 1, 4)
    with pytest.raises(BadInput, match="'04/01/2027' is not a date"):
        parse_date("04/01/2027")


@given(
    st.integers(-(10**18), 4 * 10**18),
    st.sampled_from([None, "UTC", "Asia/Tokyo", "America/Chicago", "Asia/Kolkata"]),
)
def test_an_instant_printed_with_nanoseconds_reads_back_exactly(t: int, tz: str | None) -> None:
    """What `log show` and reports print (ISO with up to 9 fractional digits, in any zone) names
    that very nanosecond: datetime alone would keep 6 digits and name an instant before it."""
    assert parse_instant(iso(t, tz)) == t


def test_more_than_nine_fractional_digits_is_bad_input() -> None:
    with pytest.raises(BadInput, match="more than 9 fractional digits"):
        parse_instant("2027-01-04T09:00:41.1234567890+09:00")


def test_a_zone_name_with_digits_is_a_zone() -> None:
    """'09:30 EST5EDT' (an IANA name) was 'not a time': the zone pattern took letters only."""
    from datetime import date

    from chronex.timearg import parse_instant

    day = date(2027, 1, 4)
    assert parse_instant("09:30 EST5EDT", on=day) == parse_instant("09:30 America/New_York", on=day)
    assert parse_instant("09:30 Etc/GMT+5", on=day) == parse_instant("09:30 America/New_York", on=day)
