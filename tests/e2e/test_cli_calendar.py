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
