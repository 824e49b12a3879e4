"""``chronex replay``, ``diff``, ``export`` and ``report`` on a recorded SQLite day, including the
one-line errors and exit codes for bad input and tampered logs."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from chronex.cli import main
from sim.replay.synthetic import Flow, continuous_windows, day_config, run_day, tokyo
from sim.world import World
from system.clock import FixedClock
from system.corrections import BustTrade
from system.engine import TradeExecuted
from system.eventlog import open_log

DAY = date(2027, 1, 6)


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A recorded TSE day on SQLite with trade 3 busted at 15:50."""
    path = tmp_path_factory.mktemp("replay") / "day.db"
    cfg = day_config(seed=4)
    world = World(cfg, start_ns=tokyo(DAY, 7), log=path, until_ns=tokyo(DAY, 16))
    run_day(
        world,
        Flow(4, cfg.instruments, continuous_windows(DAY), mean_gap_ns=8_000_000_000),
        end_ns=tokyo(DAY, 15, 50),
    )
    world.execute(BustTrade(trade_id=3, reason="erroneous"))
    world.run_until(tokyo(DAY, 16))
    world.close()
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(list(args))
    got = capsys.readouterr()
    return rc, got.out, got.err


def test_as_of_json_names_its_basis_and_the_two_views_differ(
    log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--as-of with a venue-local time answers in JSON; --known-at before the bust keeps the trade."""
    rc, out, _ = run(capsys, "replay", str(log), "--as-of", "15:00 Asia/Tokyo", "--json")
    assert rc == 0
    now = json.loads(out)
    assert now["basis"]["as_of"] == tokyo(DAY, 15) and now["phases"] == {"XTKS": "CONTINUOUS"}
    rc, out, _ = run(
        capsys,
        "replay",
        str(log),
        "--as-of",
        "2027-01-06T15:00:00+09:00",
        "--known-at",
        "15:49 Asia/Tokyo",
        "--json",
    )
    then = json.loads(out)
    assert rc == 0 and then["basis"]["late_excluded"] == 1 and now["basis"]["late_included"] == 1
    assert then["books"] == now["books"] and then["positions"] != now["positions"]


def test_as_of_tables_for_people(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --json the state prints as tables headed by its basis."""
    rc, out, _ = run(capsys, "replay", str(log), "--as-of", "10:30 Asia/Tokyo", "-q")
    assert rc == 0 and "as of 2027-01-06T10:30:00+09:00" in out and "positions" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--as-of", "20:00 Asia/Tokyo"], "outside the log"),
        (["--as-of", "yesterday"], "is not a time"),
        (
            ["--as-of", "10:00 Asia/Tokyo", "--known-at", "2027-01-05T00:00:00Z"],
            "before the log's first entry",
        ),
        ([], "exactly one of"),
        (["--rerun"], "--out"),
        (["--rebase", "2031-13-01", "--out", "x.db"], "not a date"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    log: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    """A time outside the log, an unparseable time or a missing option exits 2 with one line."""
    rc, _, err = run(capsys, "replay", str(log), *args)
    assert rc == 2 and needle in err and len(err.strip().splitlines()) == 1


def test_a_file_that_is_not_a_log_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Replaying a text file says it is not a Chronex event log."""
    p = tmp_path / "notes.txt"
    p.write_text("hello")
    rc, _, err = run(capsys, "replay", str(p), "--as-of", "10:00 Asia/Tokyo")
    assert rc == 2 and "not a Chronex event log" in err


def test_a_tampered_log_exits_1(log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A log with one altered entry fails --verify (exit 1, naming the seq) and fails the fold too."""
    bad = tmp_path / "bad.db"
    shutil.copy(log, bad)
    with sqlite3.connect(bad) as db:
        body = db.execute("SELECT body FROM events WHERE seq = 200").fetchone()[0]
        db.execute("UPDATE events SET body = ? WHERE seq = 200", (body[:-1] + bytes([body[-1] ^ 1]),))
        db.execute("DELETE FROM snapshots")
    rc, _, err = run(capsys, "replay", str(bad), "--verify", "--as-of", "10:00 Asia/Tokyo")
    assert rc == 1 and "seq 200" in err
    rc, _, err = run(capsys, "replay", str(bad), "--as-of", "10:00 Asia/Tokyo", "-q")
    assert rc == 1 and "tampered log" in err and "seq 200" in err


def test_rerun_same_then_what_if_and_diff(
    log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--rerun reproduces the head hash; a what-if --set re-run differs and diff lists the orders."""
    rc, out, _ = run(capsys, "replay", str(log), "--rerun", "--out", str(tmp_path / "same.db"), "-q")
    assert rc == 0 and "same as" in out
    rc, _, err = run(capsys, "replay", str(log), "--rerun", "--out", str(tmp_path / "same.db"), "-q")
    assert rc == 2 and "already exists" in err
    whatif = tmp_path / "whatif.db"
    rc, out, _ = run(
        capsys,
        "replay",
        str(log),
        "--rerun",
        "--out",
        str(whatif),
        "--set",
        "instruments.XTKS:6758.max_qty=300",
        "-q",
    )
    assert rc == 0 and "differs" in out and "chronex diff" in out
    rc, out, _ = run(capsys, "diff", str(log), str(whatif), "--json", "--kind", "order")
    rows = [json.loads(line) for line in out.splitlines()]
    assert rc == 0 and rows and all(r["kind"] == "order" for r in rows)
    assert any(r["right"] and r["right"]["reason"].startswith("QTY_ABOVE_MAX") for r in rows)
    rc, _, _ = run(capsys, "diff", str(log), str(whatif), "--check")
    assert rc == 1


def test_rebase_command_reports_holiday_rejections(
    log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--rebase onto New Year's Day writes a log where every order was refused as closed."""
    rc, out, _ = run(
        capsys, "replay", str(log), "--rebase", "2032-01-01", "--out", str(tmp_path / "hol.db"), "--json"
    )
    data = json.loads(out)
    assert rc == 0 and data["trades"] == 0 and data["rejected"]["WRONG_PHASE"] > 0


def test_rebase_onto_a_holiday_says_so_before_the_summary(
    log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Allowed on purpose, but said: the summary alone (0 accepted, WRONG_PHASE) left the reader
    to work out why."""
    rc, out, err = run(capsys, "replay", str(log), "--rebase", "2032-01-01", "--out", str(tmp_path / "h.db"))
    assert rc == 0 and "0 orders accepted" in out
    assert "note: 2032-01-01 is not a trading day of XTKS" in err
    rc, _, err = run(capsys, "replay", str(log), "--rebase", "2031-12-30", "--out", str(tmp_path / "n.db"))
    assert rc == 0 and "note:" not in err


def test_rebase_counts_the_auctions_trades_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The summary counted the trades of the flow's commands only; an opening auction's come from
    the venue's scheduler and were left out (the full-day example said 7126 of 7180)."""
    day = tmp_path / "day.db"
    rc, _, _ = run(capsys, "sim", "--venue", "XTKS", "--date", "2027-01-04", "--instruments", "7203",
                   "--from", "08:50", "--until", "09:01", "--log", str(day), "--quiet")  # fmt: skip
    assert rc == 0
    out = tmp_path / "rb.db"
    rc, text, _ = run(capsys, "replay", str(day), "--rebase", "2027-01-05", "--out", str(out), "--json")
    assert rc == 0
    with open_log(out, FixedClock(0), create=False) as store:
        trades = [e.record for e in store.read() if isinstance(e.record, TradeExecuted)]
    assert any(t.aggressor is None for t in trades)  # the 09:00 opening auction traded
    assert json.loads(text)["trades"] == len(trades)


def test_export_and_report(log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """export writes the four tables; report writes one HTML file with the verdict and a chart."""
    rc, out, _ = run(capsys, "export", str(log), "--to", "csv", "--what", "trades,bars", str(tmp_path / "x"))
    assert rc == 0 and sorted(Path(p).name for p in out.split()) == ["bars.csv", "trades.csv"]
    rc, _, err = run(capsys, "export", str(log), "--to", "xlsx", str(tmp_path / "y"))
    assert rc == 2 and "xlsx" in err
    html = tmp_path / "day.html"
    rc, _, _ = run(capsys, "report", str(log), "--out", str(html))
    text = html.read_text()
    assert rc == 0 and "VERIFIED" in text and "<svg" in text and "TradeBusted" in text


def test_a_time_of_day_after_midnight_is_read_on_an_overnight_log_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """CME's session opens at 17:00 Chicago the evening before its trade date: '00:15' was read on
    the start's date (outside the log) while `sim --until 00:30` reads it inside the session."""
    day = tmp_path / "cme.db"
    rc, _, _ = run(capsys, "sim", "--venue", "CME", "--date", "2027-03-15", "--instruments", "ESH7",
                   "--until", "00:30", "--activity", "0.05", "--log", str(day), "--quiet")  # fmt: skip
    assert rc == 0
    rc, out, err = run(capsys, "replay", str(day), "--as-of", "00:15 America/Chicago")
    assert rc == 0 and out.startswith("as of 2027-03-15T00:15:00-05:00"), err
    rc, out, _ = run(capsys, "replay", str(day), "--as-of", "18:00 America/Chicago")  # still the evening
    assert rc == 0 and out.startswith("as of 2027-03-14T18:00:00-05:00")
    rc, out, _ = run(capsys, "log", "show", str(day), "--from", "00:15 America/Chicago", "--limit", "1",
                     "--json")  # fmt: skip
    assert rc == 0 and json.loads(out.splitlines()[0])["valid_time"] >= 1_805_087_700 * 10**9
