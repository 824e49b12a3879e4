"""Bad values given to the write commands are one line and exit 2, never an internal error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chronex.cli import main

SIM = ["sim", "--venue", "XTKS", "--instruments", "7203", "--quiet"]


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--seed", str(2**64)], f"--seed {2**64}"),
        (["--seed", str(10**30)], f"--seed {10**30}"),
        (["--seed", str(-(2**63) - 1)], "out of range"),
        (["--activity", "nan"], "--activity nan"),
        (["--activity", "inf"], "--activity inf"),
        (["--activity", "1e9"], "--activity 1e+09"),
        (["--date", "9999-12-31"], "9999-12-31"),
        (["--date", "9999-12-31", "--from", "09:00"], "9999-12-31"),
        (["--date", "0001-01-01", "--until", "09:00"], "0001-01-01"),
    ],
)
def test_sim_bad_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    """Seeds beyond 64 bits, non-finite or absurd activity and dates far outside the calendar are
    named in one line with exit 2, and no log is left behind."""
    date = [] if "--date" in args else ["--date", "2027-01-04"]
    log = tmp_path / "day.db"
    assert main([*SIM, *date, *args, "--log", str(log)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and needle in err, err
    assert "internal error" not in err
    assert list(tmp_path.iterdir()) == []


def test_run_report_path_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`run --report FILE` (or a folder under a file) is bad input naming the path."""
    f = tmp_path / "report"
    f.write_text("not a folder")
    for target in (f, f / "sub"):
        assert main(["run", "features", "--report", str(target)]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "is a file" in err and str(f) in err


def test_sim_summary_prints_whole_prices_at_80_columns(capsys: pytest.CaptureFixture[str]) -> None:
    """The summary table is never cut to the terminal: every close price of the JSON summary
    appears whole in the table (output here is not a terminal, so rich assumes 80 columns)."""
    args = ["sim", "--venue", "CRYPTO", "--date", "2027-01-04", "--until", "00:05", "--quiet"]
    assert main([*args, "--json"]) == 0
    closes = [d["close"] for d in json.loads(capsys.readouterr().out)["instruments"].values()]
    assert main(args) == 0
    table = capsys.readouterr().out
    assert closes and all(c and c in table for c in closes), (closes, table)
    assert "…" not in table


def test_sim_log_where_no_file_can_be_made(capsys: pytest.CaptureFixture[str]) -> None:
    """A --log in a place no file can be created is one line, exit 2."""
    args = ["sim", "--venue", "XTKS", "--date", "2027-01-04", "--until", "09:01", "--quiet"]
    assert main([*args, "--log", "/proc/chronex-day.db"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "/proc/chronex-day.db" in err
