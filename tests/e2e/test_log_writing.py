"""Logs a command makes from scratch are whole or absent, end with RunFinished, and have one writer.

The crash and concurrency cases run `chronex sim` as real processes: a SIGKILL cannot be faked in
process, and a lock must hold between processes.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chronex.cli import main
from system.clock import FixedClock
from system.eventlog import open_log, verify

SHORT = ["sim", "--venue", "XTKS", "--date", "2027-01-04", "--instruments", "7203", "--seed", "3",
         "--from", "08:59", "--until", "09:01", "--quiet"]  # fmt: skip
# A whole day of every instrument: long enough to be caught mid-run.
LONG = ["sim", "--venue", "XTKS", "--date", "2027-01-04", "--seed", "3", "--quiet"]


def chronex(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "from chronex.cli import entry; entry()", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(cond: object, what: str, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def partials(log: Path) -> list[Path]:
    return list(log.parent.glob(f".{log.name}.partial-*"))


def last_entry(log: Path) -> tuple[int, str, dict[str, int], int]:
    """(seq, type, payload, commands in the log) of ``log``'s last entry."""
    with open_log(log, FixedClock(0), create=False) as s:
        evs = list(s.read(1))
    last = evs[-1]
    commands = sum(1 for e in evs if e.record.kind == "command")
    return last.seq, last.type, {"entries": last.record.entries, "commands": last.record.commands}, commands  # type: ignore[attr-defined]


def test_a_clean_run_ends_with_run_finished(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The last entry of a sim log is RunFinished, counting the entries and commands before it,
    and `log verify` calls the log complete."""
    log = tmp_path / "day.db"
    assert main([*SHORT, "--log", str(log), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    seq, kind, counts, commands = last_entry(log)
    assert kind == "RunFinished" and summary["events"] == seq
    assert counts == {"entries": seq - 1, "commands": commands}
    assert main(["log", "verify", str(log), "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["ok"] and verdict["complete"] and verdict["incomplete"] is None
    assert not partials(log) and not Path(f"{log}.lock").exists()


def test_log_without_run_finished_is_reported_incomplete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Cut the RunFinished off a finished log: the chain still verifies (exit 0), and verify says
    plainly that the log is incomplete, in text and in JSON."""
    log = tmp_path / "day.db"
    assert main([*SHORT, "--log", str(log)]) == 0
    db = sqlite3.connect(log)
    (n,) = db.execute("SELECT max(seq) FROM events").fetchone()
    db.execute("DELETE FROM events WHERE seq = ?", (n,))
    db.commit()
    db.close()
    capsys.readouterr()
    assert main(["log", "verify", str(log)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{log}: ok, {n - 1} events")
    assert out[1].startswith(f"{log}: incomplete: no RunFinished")
    assert main(["log", "verify", str(log), "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["ok"] is True and verdict["complete"] is False and "RunFinished" in verdict["incomplete"]


@pytest.mark.parametrize("form", ["path", "url"])
def test_an_existing_log_is_refused_by_path_and_by_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], form: str
) -> None:
    """A second run into an existing log is refused (exit 2, log unchanged) whether the log is
    named by path or sqlite:// URL; --overwrite replaces it with a log of one run only."""
    log = tmp_path / "day.db"
    assert main([*SHORT, "--log", str(log)]) == 0
    before = log.read_bytes()
    name = str(log) if form == "path" else f"sqlite:///{log}"
    capsys.readouterr()
    assert main([*SHORT, "--log", name]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "already exists" in err and "--overwrite" in err
    assert log.read_bytes() == before
    assert main([*SHORT, "--seed", "4", "--log", name, "--overwrite"]) == 0
    with open_log(log, FixedClock(0), create=False) as s:
        starts = [e for e in s.read(1) if e.type == "RunStarted"]
        assert len(starts) == 1 and starts[0].record.seed == 4  # type: ignore[attr-defined]
        assert verify(s).complete


def _stopped_mid_day(log: Path, sig: int) -> tuple[int, str]:
    """A whole day's sim into ``log``, sent ``sig`` once it has written 100 kB: its exit code and
    standard error."""
    proc = chronex(*LONG, "--log", str(log))
    try:
        wait_for(lambda: any(p.stat().st_size > 100_000 for p in partials(log)), "the sim to write")
    finally:
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def test_sigterm_stops_a_sim_as_ctrl_c_does_leaving_nothing(tmp_path: Path) -> None:
    """SIGTERM (what `timeout`, systemd and CI runners send) cleans up as Ctrl-C does: no log, no
    partial file, no lock; one line, exit 143."""
    log = tmp_path / "day.db"
    rc, err = _stopped_mid_day(log, signal.SIGTERM)
    assert rc == 143, err
    assert err.strip() == "chronex: terminated"
    assert list(tmp_path.iterdir()) == []


def test_a_killed_sim_leaves_no_log_and_a_retry_succeeds(tmp_path: Path) -> None:
    """SIGKILL mid-run: nothing at the target (the partial file has a temporary name), and the
    same command then runs cleanly, clearing the dead run's partial file."""
    log = tmp_path / "day.db"
    rc, _ = _stopped_mid_day(log, signal.SIGKILL)
    assert rc == -signal.SIGKILL
    assert not log.exists()
    assert partials(log)  # the dead run's file, under its temporary name
    retry = chronex(*SHORT, "--log", str(log))
    _, err = retry.communicate(timeout=300)
    assert retry.returncode == 0, err
    assert not partials(log)
    with open_log(log, FixedClock(0), create=False) as s:
        v = verify(s)
    assert v.ok and v.complete


@pytest.mark.parametrize("first,second", [("path", "url"), ("url", "path")])
def test_a_second_writer_is_refused_naming_the_first(tmp_path: Path, first: str, second: str) -> None:
    """While one sim writes a log, a second sim on the same log (by path or sqlite:// URL) exits
    2 at once, naming the holder's pid, host and command; the first is unaffected."""
    log = tmp_path / "day.db"
    name = {"path": str(log), "url": f"sqlite:///{log}"}
    a = chronex(*LONG, "--log", name[first])
    try:
        wait_for(lambda: partials(log) and Path(f"{log}.lock").stat().st_size > 0, "the first writer")
        b = chronex(*SHORT, "--log", name[second], "--overwrite")
        _, err = b.communicate(timeout=120)
        assert b.returncode == 2
        assert len(err.strip().splitlines()) == 1, err
        assert "another writer has this log" in err and f"pid {a.pid} on {os.uname().nodename}" in err
        assert "sim" in err and name[first] in err  # the holder's command line
        assert a.poll() is None  # the first writer runs on
    finally:
        a.send_signal(signal.SIGKILL)
        a.communicate(timeout=60)
    assert not log.exists()


def test_a_failed_rerun_leaves_no_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A re-run that stops on a tampered entry (exit 1) leaves nothing at --out, so the same
    --out works once the input is sound."""
    log, out = tmp_path / "day.db", tmp_path / "again.db"
    assert main([*SHORT, "--log", str(log)]) == 0
    db = sqlite3.connect(log)
    (body,) = db.execute("SELECT body FROM events WHERE seq = 200").fetchone()
    db.execute("UPDATE events SET body = ? WHERE seq = 200", (body[:-1] + bytes([body[-1] ^ 1]),))
    db.commit()
    db.close()
    assert main(["replay", str(log), "--rerun", "--out", str(out), "--quiet"]) == 1
    assert "tampered" in capsys.readouterr().err
    assert not out.exists() and not partials(out)
    good = tmp_path / "good.db"
    assert main([*SHORT, "--log", str(good)]) == 0
    assert main(["replay", str(good), "--rerun", "--out", str(out), "--quiet"]) == 0
    with open_log(out, FixedClock(0), create=False) as s:
        assert verify(s).complete


def test_readers_are_not_blocked_by_the_writer_lock(tmp_path: Path) -> None:
    """While a writer holds a log's lock, verify and show still read it; a second writer is not
    let in, even from the same process."""
    from system.eventlog.lock import LogLocked, WriterLock

    log = tmp_path / "day.db"
    assert main([*SHORT, "--log", str(log)]) == 0
    with WriterLock(log, command="a live venue"):
        assert main(["log", "verify", str(log)]) == 0
        assert main(["log", "show", str(log), "--limit", "1", "--json"]) == 0
        with pytest.raises(LogLocked, match="a live venue"):
            WriterLock(log).acquire()
    WriterLock(log).acquire().release()  # free again once released


@pytest.mark.parametrize("ends", ["cleanly", "with an error"])
def test_a_replay_cache_of_the_live_file_goes_with_it(tmp_path: Path, ends: str) -> None:
    """Replaying a run's log while it is written makes a cache beside the temporary file
    (.day.db.partial-PID.replay); it was left behind for good once the file moved or went."""
    import contextlib

    from system.eventlog import NewEvent
    from system.eventlog.fresh import fresh_log
    from system.runtime.manifest import RunStarted

    target = tmp_path / "day.db"
    expect = pytest.raises(RuntimeError) if ends != "cleanly" else contextlib.nullcontext()
    with expect, fresh_log(str(target)) as fresh:
        store = open_log(fresh.url, FixedClock(1))
        store.append([NewEvent(RunStarted(1, "v", "c", "cal", 1), 1)])
        store.close()
        Path(f"{fresh.url}.replay").write_bytes(b"cache")  # what `chronex replay` of it leaves
        if ends != "cleanly":
            raise RuntimeError("the run failed")
    left = sorted(p.name for p in tmp_path.iterdir() if "partial" in p.name)
    assert left == []
    assert target.exists() == (ends == "cleanly")

