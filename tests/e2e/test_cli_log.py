"""`chronex log show` and `chronex log verify` as a user runs them."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from chronex.cli import main
from system.clock import FixedClock, from_datetime
from system.eventlog import Event, NewEvent, open_log

T0 = 1_800_000_000 * 1_000_000_000  # 2027-01-15T08:00:00Z


class CliFill(Event, frozen=True):
    account: str
    qty: int

    def stream(self) -> str:
        return f"account/{self.account}"


class CliNote(Event, frozen=True):
    text: str

    def stream(self) -> str:
        return "notes"


@pytest.fixture()
def log_path(tmp_path: Path) -> Path:
    path = tmp_path / "day.db"
    with open_log(path, FixedClock(T0)) as s:
        s.append(
            [
                NewEvent(CliFill("A", 1), T0),
                NewEvent(CliFill("B", 2), T0 + 60_000_000_000),
                NewEvent(CliNote("hello"), T0 + 120_000_000_000),
                NewEvent(CliFill("A", 3), T0 + 180_000_000_000),
            ]
        )
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    got = capsys.readouterr()
    return code, got.out, got.err


def seqs(out: str) -> list[int]:
    return [json.loads(line)["seq"] for line in out.splitlines()]


def test_show_json_lists_every_entry(log_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints one object per entry with envelope, payload and hash."""
    code, out, _ = run(capsys, "log", "show", str(log_path), "--json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["seq"] for r in rows] == [1, 2, 3, 4]
    assert rows[0]["payload"] == {"account": "A", "qty": 1}
    assert rows[0]["stream"] == "account/A" and rows[0]["type"] == "CliFill"
    assert len(rows[3]["hash"]) == 64


def test_show_filters(log_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--from/--to (valid time), --type and --stream (exact or prefix*) filter the rows."""
    p = str(log_path)
    assert seqs(run(capsys, "log", "show", p, "--json", "--from", "2027-01-15T08:01:00Z")[1]) == [2, 3, 4]
    assert seqs(
        run(
            capsys,
            "log",
            "show",
            p,
            "--json",
            "--to",
            "2027-01-15 17:02 Asia/Tokyo",
            "--from",
            "2027-01-15 17:01 Asia/Tokyo",
        )[1]
    ) == [2, 3]
    assert seqs(run(capsys, "log", "show", p, "--json", "--type", "CliNote")[1]) == [3]
    assert seqs(run(capsys, "log", "show", p, "--json", "--stream", "account/A")[1]) == [1, 4]
    assert seqs(run(capsys, "log", "show", p, "--json", "--stream", "account/*")[1]) == [1, 2, 4]
    assert seqs(run(capsys, "log", "show", p, "--json", "--to", str(T0))[1]) == [1]


def test_show_table(log_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --json a table shows seq, valid time in the asked zone, stream, type and payload."""
    code, out, _ = run(capsys, "log", "show", str(log_path), "--tz", "Asia/Tokyo", "--type", "CliNote")
    assert code == 0
    words = " ".join(out.split())  # the title may wrap to the table's width
    assert "1 entries" in words and "2027-01-15T17:02:00+09:00" in out and "text=hello" in out


def test_verify_ok(log_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """verify exits 0 and prints the count and the head hash on one line; a log that does not end
    with RunFinished is said to be incomplete on a second line (still exit 0)."""
    with open_log(log_path, FixedClock(0), create=False) as s:
        head = s.head().hash.hex()
    code, out, _ = run(capsys, "log", "verify", str(log_path))
    assert code == 0
    first, second = out.strip().splitlines()
    assert first == f"{log_path}: ok, 4 events, head hash {head}"
    assert second.startswith(f"{log_path}: incomplete: no RunFinished at the end")
    code, out, _ = run(capsys, "log", "verify", str(log_path), "--json")
    assert code == 0 and json.loads(out) == {
        "ok": True,
        "count": 4,
        "head_hash": head,
        "bad_seq": None,
        "problem": None,
        "complete": False,
        "incomplete": json.loads(out)["incomplete"],
        "served": None,
    }
    assert json.loads(out)["incomplete"].startswith("no RunFinished")


def test_verify_says_a_served_log_has_no_end_rather_than_a_failed_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A log `chronex serve` wrote (its RunStarted labelled "serve VENUE") never ends with
    RunFinished, however the server stopped: verify says so instead of blaming the run."""
    from system.runtime.manifest import RunStarted

    path = tmp_path / "served.db"
    with open_log(path, FixedClock(0)) as s:
        s.append([NewEvent(RunStarted(0, "0.1.0", "ab" * 32, "cal", 0, label="serve XTKS"), 0)])
    code, out, _ = run(capsys, "log", "verify", str(path))
    assert code == 0
    second = out.strip().splitlines()[1]
    assert second.startswith(f"{path}: served log: no RunFinished: a served venue has no end ('serve XTKS')")
    code, out, _ = run(capsys, "log", "verify", str(path), "--json")
    assert json.loads(out)["served"] == "serve XTKS" and json.loads(out)["complete"] is False


def test_verify_tampered_exits_1_naming_the_seq(log_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A changed payload byte makes verify exit 1 and name the entry's seq."""
    db = sqlite3.connect(log_path)
    (body,) = db.execute("SELECT body FROM events WHERE seq = 3").fetchone()
    db.execute("UPDATE events SET body = ? WHERE seq = 3", (body.replace(b"hello", b"hellO"),))
    db.commit()
    db.close()
    code, _, err = run(capsys, "log", "verify", str(log_path))
    assert code == 1
    assert "bad at seq 3" in err and "altered payload" in err
    code, out, _ = run(capsys, "log", "verify", str(log_path), "--json")
    assert code == 1 and json.loads(out)["bad_seq"] == 3


def test_verify_reports_a_gap(log_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A deleted entry is reported as missing at its seq."""
    db = sqlite3.connect(log_path)
    db.execute("DELETE FROM events WHERE seq = 2")
    db.commit()
    db.close()
    code, _, err = run(capsys, "log", "verify", str(log_path))
    assert code == 1 and "bad at seq 2" in err and "missing" in err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["log", "verify", "{missing}"], "no such file"),
        (["log", "show", "{missing}"], "no such file"),
        (["log", "verify", "{text}"], "not a Chronex event log"),
        (["log", "show", "{log}", "--from", "yesterday"], "--from 'yesterday' is not a time"),
        (["log", "show", "{log}", "--to", "2027-01-15T10:00"], "has no time zone"),
        (["log", "show", "{log}", "--from", "10:00 Mars/Olympus"], "unknown time zone"),
        (["log", "show", "{log}", "--from", "10:00 Asia/Tokyo"], "no date given"),
        (["log", "show", "{log}", "--tz", "Nowhere/Land"], "--tz 'Nowhere/Land' is not a time zone"),
        (["log", "show", "{log}", "--type", "NoSuchThing"], "--type 'NoSuchThing' is not a record type"),
        (["log", "show", "ftp://x/y"], "unknown log URL scheme 'ftp'"),
        (["log", "show", "nats://127.0.0.1:4222"], "not available"),
        (["log", "show", "postgresql://127.0.0.1:1/x?connect_timeout=2"], "cannot connect to PostgreSQL"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str], needle: str, log_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad input exits 2 with one line on stderr that names the problem, never a traceback."""
    text = tmp_path / "notes.txt"
    text.write_text("not a log\n" * 100)
    paths = {"missing": str(tmp_path / "nope.db"), "text": str(text), "log": str(log_path)}
    code, out, err = run(capsys, *[a.format(**paths) for a in argv])
    assert code == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert out == ""


def test_the_installed_command_exits_2_without_a_traceback(tmp_path: Path) -> None:
    """`python -m`-free check through a real process: the console entry point keeps the contract."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from chronex.cli import entry; entry()",
            "log",
            "verify",
            str(tmp_path / "missing.db"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("chronex: ") and len(done.stderr.strip().splitlines()) == 1


def test_show_unknown_record_types_as_stored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Entries of types this process never imported are shown from their stored payload."""
    path = tmp_path / "foreign.db"
    script = (
        "from system.clock import FixedClock\n"
        "from system.eventlog import Event, NewEvent, open_log\n"
        "class ForeignThing(Event, frozen=True):\n"
        "    size: int\n"
        "    def stream(self) -> str:\n"
        "        return 'x'\n"
        f"s = open_log({str(path)!r}, FixedClock(1))\n"
        "s.append([NewEvent(ForeignThing(9), 1)])\n"
        "s.close()\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    code, out, _ = run(capsys, "log", "show", str(path), "--json", "--type", "ForeignThing")
    assert code == 0 and json.loads(out)["payload"] == {"size": 9}
    assert run(capsys, "log", "verify", str(path))[0] == 0


def test_from_datetime_agrees_with_the_fixture() -> None:
    """T0 is the instant the filters above are written against."""
    from datetime import UTC, datetime

    assert from_datetime(datetime(2027, 1, 15, 8, 0, tzinfo=UTC)) == T0


def test_show_takes_a_time_of_day_on_the_logs_own_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """'08:00 Asia/Tokyo' (no date) names the log's own day, as `replay --as-of` reads it; it
    was refused with 'no date given'."""
    log = tmp_path / "day.db"
    day = ["sim", "--venue", "XTKS", "--date", "2027-01-04", "--instruments", "7203", "--until", "08:02"]
    assert main([*day, "--log", str(log), "--quiet"]) == 0
    capsys.readouterr()
    local = run(capsys, "log", "show", str(log), "--json", "--limit", "0", "--from", "08:00 Asia/Tokyo",
                "--to", "08:01 Asia/Tokyo")  # fmt: skip
    full = run(capsys, "log", "show", str(log), "--json", "--limit", "0", "--from", "2027-01-04T08:00+09:00",
               "--to", "2027-01-04T08:01+09:00")  # fmt: skip
    assert local[0] == 0 and local[1] == full[1] and seqs(local[1])
