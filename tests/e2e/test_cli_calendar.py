"""``chronex calendar``: sessions between dates, the phase at an instant, and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chronex.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["calendar", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_lists_sessions_as_json_in_both_zones(capsys: pytest.CaptureFixture[str]) -> None:
    """--json lists each session with its phases in the venue zone and UTC."""
    code, out, _ = run(capsys, "XTKS", "--from", "2024-11-01", "--to", "2024-11-05", "--json")
    assert code == 0
    doc = json.loads(out)
    assert [s["trade_date"] for s in doc["sessions"]] == ["2024-11-01", "2024-11-05"]
    last = doc["sessions"][1]
    assert last["close"] == {"local": "2024-11-05T15:30:00+09:00", "utc": "2024-11-05T06:30:00+00:00",
                             "ns": last["close"]["ns"]}
    assert [t["phase"] for t in last["transitions"]][-2:] == ["CLOSING_AUCTION", "CLOSED"]


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --json the sessions print as a table, with a note for projected dates."""
    code, out, _ = run(capsys, "CME", "--from", "2031-12-29", "--to", "2031-12-31")
    assert code == 0
    assert "2031-12-29" in out and "OPENING_AUCTION" in out and "projected" in out


def test_at_an_instant(capsys: pytest.CaptureFixture[str]) -> None:
    """--at prints the phase and trade date at that instant."""
    code, out, _ = run(capsys, "CME", "--at", "2024-03-12 23:30 America/Chicago", "--json")
    assert code == 0
    doc = json.loads(out)
    assert (doc["phase"], doc["trade_date"], doc["is_open"]) == ("CONTINUOUS", "2024-03-13", True)
    code, out, _ = run(capsys, "XTKS", "--at", "2024-11-05T15:27:00+09:00")
    assert code == 0 and "CLOSING_AUCTION" in out and "2024-11-05" in out


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["NOWHERE", "--at", "2024-01-01T00:00:00Z"], "unknown venue 'NOWHERE'"),
        (["XTKS", "--from", "2024-02-30"], "--from '2024-02-30' is not a date"),
        (["XTKS", "--at", "yesterday"], "--at 'yesterday'"),
        (["XTKS", "--from", "2024-11-05", "--to", "2024-11-01"], "before --from"),
        (["XTKS", "--from", "2041-01-01"], "outside this calendar's horizon"),
        (["XTKS"], "give --from"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    """A bad venue, date or instant prints one line naming it and exits 2."""
    code, _, err = run(capsys, *args)
    assert code == 2
    assert says in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_venue_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A venue file with a bad value is reported with its file, key and value."""
    bad = tmp_path / "bad.toml"
    bad.write_text('[venue]\ncode = "X"\ntimezone = "Mars/Base"\n')
    code, _, err = run(capsys, str(bad), "--from", "2024-01-02")
    assert code == 2 and "bad.toml: venue.timezone = 'Mars/Base'" in err


def test_installed_command_exits_2_on_bad_venue() -> None:
    """The installed entry point exits 2 for an unknown venue."""
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "chronex"), "calendar", "NOWHERE", "--at", "2024-01-01T00:00:00Z"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2, proc.stderr


@pytest.mark.parametrize("code", ["XSHG", "XSES", "XBOM"])
def test_calendars_with_holidays_to_2026_list_2020_to_2030_with_later_years_projected(
    code: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The library knows these holidays only to 2026: asked within its bounds, projected after."""
    code_, out, err = run(capsys, code, "--from", "2020-01-01", "--to", "2030-12-31", "--json")
    assert code_ == 0, err
    sessions = json.loads(out)["sessions"]
    years = {s["trade_date"][:4] for s in sessions}
    assert years == {str(y) for y in range(2020, 2031)}
    assert all(s["projected"] == (s["trade_date"] > "2026-12-31") for s in sessions)
    if code != "XBOM":  # Mumbai trades on 1 January; Shanghai and Singapore never do
        assert not any(s["trade_date"].endswith("-01-01") for s in sessions)
    assert all(s["open"]["local"][11:16] == sessions[-1]["open"]["local"][11:16] for s in sessions[-50:])


def test_xshg_table_flags_projected_sessions(capsys: pytest.CaptureFixture[str]) -> None:
    """In the table, sessions past 2026 carry 'rules projected' and the note says why."""
    code, out, _ = run(capsys, "XSHG", "--from", "2026-12-30", "--to", "2027-01-05")
    assert code == 0
    assert "2027-01-04" in out and "projected" in out
    assert "holidays after 2026-12-31 are not published yet" in out.replace("\n", " ")


def test_a_holiday_as_the_first_date_is_not_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    """--from on a holiday (2000-01-01, the horizon's first day) lists from the next session."""
    for venue in ("XNYS", "XTKS", "CME"):
        code, out, err = run(capsys, venue, "--from", "2000-01-01", "--to", "2000-01-05", "--json")
        assert code == 0, (venue, err)
        assert json.loads(out)["sessions"][0]["trade_date"] in ("2000-01-03", "2000-01-04")


def test_a_local_time_the_clocks_skip_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """02:30 on the spring-forward night in New York does not exist: exit 2, saying what happened."""
    code, _, err = run(capsys, "XNYS", "--at", "2027-03-14 02:30 America/New_York")
    assert code == 2
    assert "does not exist" in err and "clocks went forward by 1 hour" in err


def test_an_ambiguous_local_time_asks_for_an_offset(capsys: pytest.CaptureFixture[str]) -> None:
    """01:30 on the fall-back night happens twice: exit 2 offering both readings; an offset picks one."""
    code, _, err = run(capsys, "XNYS", "--at", "2027-11-07 01:30 America/New_York")
    assert code == 2
    assert "happens twice" in err and "2027-11-07T01:30:00-04:00 (EDT)" in err and "-05:00 (EST)" in err
    code, out, _ = run(capsys, "XNYS", "--at", "2027-11-07T01:30:00-05:00", "--json")
    assert code == 0 and json.loads(out)["at"]["utc"] == "2027-11-07T06:30:00+00:00"
