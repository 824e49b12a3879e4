"""`chronex sim` as a user runs it: a log with a stable head hash, a summary, one-line errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from chronex.cli import main

BASE = ["sim", "--venue", "XTKS", "--date", "2027-01-04", "--instruments", "7203,9432", "--seed", "9",
        "--from", "08:58", "--until", "09:03"]  # fmt: skip


def test_same_command_twice_same_head_hash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Running the same command twice writes logs with the same head hash; the summary has OHLC."""
    hashes = []
    for name in ("a.db", "b.db"):
        assert main([*BASE, "--log", str(tmp_path / name), "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        hashes.append(summary["head_hash"])
        assert summary["events"] > 500
        toyota = summary["instruments"]["XTKS:7203"]
        assert toyota["trades"] > 0 and toyota["open"] and toyota["close"]
        assert toyota["auctions"][0]["phase"] == "OPENING_AUCTION"
        assert toyota["auctions"][0]["at"].startswith("2027-01-04T09:00:00")  # the uncross, local time
    assert hashes[0] == hashes[1]


def test_table_summary_ends_with_the_head_hash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The human summary lists instruments and ends with one line holding the head hash."""
    log = tmp_path / "day.db"
    assert main([*BASE, "--log", str(log), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "XTKS:9432" in out and "09:00:00 │ opening" in out
    last = out.strip().splitlines()[-1]
    assert last.startswith(f"{log}: ") and "head hash" in last


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--venue", "NASDAQ", "--date", "2027-01-04"], "'NASDAQ'"),
        (["--venue", "XTKS", "--date", "2027-01-02"], "2027-01-02 is not a trading day on XTKS"),
        (["--venue", "XTKS", "--date", "04/01/2027"], "'04/01/2027'"),
        (["--venue", "XTKS", "--date", "2027-01-04", "--instruments", "9999"], "'9999'"),
        (["--venue", "XTKS", "--date", "2027-01-04", "--until", "16:00"], "until 2027-01-04T16:00:00+09:00"),
        (["--venue", "XTKS", "--date", "2027-01-04", "--activity", "-1"], "--activity -1"),
        # so small that an agent's wait overflows the clock: refused, not an OverflowError
        (["--venue", "XTKS", "--date", "2027-01-04", "--activity", "1e-300"], "--activity 1e-300"),
        (["--venue", "XTKS", "--date", "2027-01-04", "--log", ""], "--log '' names no log"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad venue, date, instrument or time is one line on stderr and exit code 2."""
    assert main(["sim", *args, "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err


def test_existing_log_needs_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An existing log file is never replaced silently."""
    log = tmp_path / "day.db"
    log.write_bytes(b"")
    assert main([*BASE, "--log", str(log), "--quiet"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main([*BASE, "--log", str(log), "--quiet", "--overwrite"]) == 0


def test_bare_times_fall_inside_a_session_that_starts_the_evening_before(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """On Globex, --until 17:05 means the evening before the trade date, when its session opens."""
    args = ["sim", "--venue", "CME", "--date", "2027-01-04", "--instruments", "ESH7", "--until", "17:05"]
    assert main([*args, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["from"] == "2027-01-03T16:45:00-06:00"
    assert summary["until"] == "2027-01-03T17:05:00-06:00"
    assert summary["instruments"]["CME:ESH7"]["auctions"][0]["phase"] == "OPENING_AUCTION"


def test_sim_into_postgresql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pg_log_url: Callable[[], str]
) -> None:
    """`chronex sim --log postgresql://...` writes the head hash a SQLite file gets; writing the
    same URL again needs --overwrite, which replaces the log."""
    url = pg_log_url()
    assert main([*BASE, "--log", str(tmp_path / "a.db"), "--json"]) == 0
    want = json.loads(capsys.readouterr().out)["head_hash"]
    assert main([*BASE, "--log", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["head_hash"] == want
    assert main([*BASE, "--log", url, "--json"]) == 2
    err = capsys.readouterr().err
    assert "already holds" in err and "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert main([*BASE, "--log", url, "--json", "--overwrite"]) == 0
    assert json.loads(capsys.readouterr().out)["head_hash"] == want
    assert main(["log", "verify", url]) == 0
    # a replacing run that fails keeps the old log whole, as a file's does, and leaves no schema
    # of its own behind
    import chronex.commands.sim as simcmd
    from system.eventlog.postgres import partial_url

    def broken(*a: object, **k: object) -> None:
        raise KeyboardInterrupt

    real = simcmd._run
    simcmd._run = broken  # type: ignore[assignment]
    try:
        assert main([*BASE[:-2], "--until", "09:10", "--log", url, "--overwrite"]) != 0  # Ctrl-C mid-day
    finally:
        simcmd._run = real
    capsys.readouterr()
    assert main(["log", "verify", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["head_hash"] == want
    assert main(["log", "verify", partial_url(url)]) == 2  # no such log: the aside was dropped
