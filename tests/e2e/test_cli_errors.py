"""Bad command lines end in one line and exit code 2, never a traceback."""

from __future__ import annotations

import subprocess

import pytest

from tests import cli


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return cli.chronex(*args, timeout=120)


@pytest.mark.parametrize(
    "args",
    [
        ("log", "show", "--bogus", "x"),
        ("log", "show"),
        ("no-such-command",),
        ("archive", "--from", "day.db", "--to", "postgresql://127.0.0.1/x", "--name", ""),
    ],
)
def test_usage_errors_exit_2_without_traceback(args: tuple[str, ...]) -> None:
    """An unknown option, a missing argument or an unknown command exits 2 and names the problem."""
    r = _run(*args)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.strip()


def test_init_where_a_file_is_in_the_way_writes_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A folder that cannot be made is one line naming the path, exit 2, and no half suite."""
    (tmp_path / "afile").write_text("x")
    r = cli.chronex("init", str(tmp_path / "afile" / "suite"), timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "afile/suite" in r.stderr and "nothing was written" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_version_exits_0() -> None:
    """`chronex version` prints the version and exits 0."""
    r = _run("version")
    assert r.returncode == 0
    assert r.stdout.startswith("chronex ")


def test_verify_head_catches_entries_cut_off_the_end(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`log verify --head H` fails when the log was truncated below the recorded head, and passes
    when H is the head or an earlier entry."""
    import sqlite3

    from system.clock import FixedClock
    from system.eventlog import NewEvent, open_log
    from system.runtime.manifest import RunStarted

    path = tmp_path / "day.db"
    store = open_log(path, FixedClock(1))
    for i in range(5):
        store.append([NewEvent(RunStarted(i, "v", "c", "cal", i), i)])
    head = store.head().hash.hex()
    mid = next(iter(store.read(3, 3))).hash.hex()
    store.close()
    assert _run("log", "verify", str(path), "--head", head).returncode == 0
    assert _run("log", "verify", str(path), "--head", mid[:12]).returncode == 0
    db = sqlite3.connect(path)
    db.execute("DELETE FROM events WHERE seq = 5")
    db.commit()
    db.close()
    r = _run("log", "verify", str(path), "--head", head)
    assert r.returncode == 1
    assert "entries were removed from the end" in r.stderr
    bad = _run("log", "verify", str(path), "--head", "xyz")
    assert bad.returncode == 2 and "--head" in bad.stderr


def test_a_log_file_cut_short_anywhere_fails_verification(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """A copy cut short (a full disk, an interrupted transfer) is a failed verification at every
    length: exit 1 with one line saying damaged; never "ok", never an internal error (a cut inside
    the last page read a missing body as None and crashed), never "not a Chronex event log", and
    never "altered hash" (a cut under a page read the missing tail as zeros: it reads as tampering)."""
    from chronex.cli import main
    from system.clock import FixedClock
    from system.eventlog import NewEvent, open_log
    from system.runtime.manifest import RunStarted

    path = tmp_path / "day.db"
    store = open_log(path, FixedClock(1))
    for i in range(400):
        store.append([NewEvent(RunStarted(i, "v" * 100, "c", "cal", i), i)])
    store.close()
    whole = path.read_bytes()
    assert main(["log", "verify", str(path)]) == 0
    capsys.readouterr()
    cut = tmp_path / "cut.db"
    page = 4096
    ends = (len(whole) - 1, len(whole) - 100)
    cuts = (*range(page, len(whole), page), *range(page + 700, len(whole), page), *ends)
    lengths = sorted(set(cuts))
    for n in lengths:
        cut.write_bytes(whole[:n])
        rc = main(["log", "verify", str(cut)])
        err = capsys.readouterr().err.strip()
        assert rc == 1, (n, err)
        assert len(err.splitlines()) == 1 and "damaged" in err, (n, err)  # never "altered": not tampering


def test_a_hash_or_body_edited_into_text_is_an_altered_entry_at_its_seq(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """sqlite's replace() gives TEXT; 'hash = 'abc'' crashed verify (TypeError, exit 3) and a body
    stored as text was 'not a Chronex event log' with its bytes in the message. Both read as blobs
    now: a changed one fails at its seq, exit 1, one line."""
    import sqlite3

    from chronex.cli import main
    from system.clock import FixedClock
    from system.eventlog import NewEvent, open_log
    from system.runtime.manifest import RunStarted

    path = tmp_path / "day.db"
    store = open_log(path, FixedClock(1))
    for i in range(10):
        store.append([NewEvent(RunStarted(i, "v", "c", "cal", i), i)])
    store.close()
    for edit in ("hash = 'abc'", "body = replace(body, x'01', x'02')"):
        copy = tmp_path / "t.db"
        copy.write_bytes(path.read_bytes())
        db = sqlite3.connect(copy)
        db.execute(f"UPDATE events SET {edit} WHERE seq = 5")
        db.commit()
        db.close()
        assert main(["log", "verify", str(copy)]) == 1
        err = capsys.readouterr().err.strip()
        assert "bad at seq 5" in err and len(err.splitlines()) == 1, (edit, err)
    # the same bytes stored as TEXT are the same entry
    copy.write_bytes(path.read_bytes())
    db = sqlite3.connect(copy)
    db.execute("UPDATE events SET body = CAST(body AS TEXT) WHERE seq = 5")
    db.commit()
    db.close()
    assert main(["log", "verify", str(copy)]) == 0


def test_a_reader_that_closes_the_pipe_early_is_not_a_failed_check(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`replay ... | head -1` exited 1 (rich's answer to a closed stdout), which a script reads as a
    tampered or diverged log; it is 141 now, what a shell says of a pipe closed early."""
    import subprocess
    import sys

    from system.clock import FixedClock
    from system.eventlog import NewEvent, open_log
    from system.runtime.manifest import RunStarted

    path = tmp_path / "day.db"
    store = open_log(path, FixedClock(1))
    for i in range(20000):
        store.append([NewEvent(RunStarted(i, "v" * 50, "c", "cal", i), i)])
    store.close()
    exe = [sys.executable, "-c", "from chronex.cli import entry; entry()"]
    args = [*exe, "log", "show", str(path), "--limit", "0", "--json"]
    show = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert show.stdout is not None and show.stdout.readline()
    show.stdout.close()  # the reader goes, as head does after its line
    assert show.wait(120) == 141
    assert show.stderr is not None
    with show.stderr:
        assert "Traceback" not in show.stderr.read().decode()


def test_a_log_without_its_first_entry_is_a_gap_not_a_time_to_rewrite(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """replay --as-of '09:00 Asia/Tokyo' on a log whose seq 1 (its manifest) was deleted said
    'no date given and none to assume' (exit 2): the auditor now hears of the gap (exit 1)."""
    import sqlite3

    from chronex.cli import main

    log = tmp_path / "day.db"
    assert main(["sim", "--venue", "XTKS", "--date", "2027-01-04", "--instruments", "7203",
                 "--from", "08:59", "--until", "09:01", "--log", str(log), "--quiet"]) == 0  # fmt: skip
    db = sqlite3.connect(log)
    db.execute("DELETE FROM events WHERE seq = 1")
    db.commit()
    db.close()
    capsys.readouterr()
    assert main(["replay", str(log), "--as-of", "09:00:30 Asia/Tokyo"]) == 1
    assert "seq 1 is absent" in capsys.readouterr().err


def test_log_show_leaves_out_an_entry_whose_time_column_was_edited(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """The time filter reads the index column, the row shown is the hashed body: an edited column
    put an entry into a window its body is outside of, silently."""
    import json
    import sqlite3

    from chronex.cli import main
    from system.clock import FixedClock
    from system.eventlog import NewEvent, open_log
    from system.runtime.manifest import RunStarted

    T0 = 1_800_000_000_000_000_000
    path = tmp_path / "day.db"
    store = open_log(path, FixedClock(1))
    for i in range(10):
        store.append([NewEvent(RunStarted(i, "v", "c", "cal", i), T0 + i)])
    store.close()
    db = sqlite3.connect(path)
    db.execute(f"UPDATE events SET valid_time = {T0 + 2} WHERE seq = 8")
    db.commit()
    db.close()
    at = str(T0 + 2)
    assert main(["log", "show", str(path), "--from", at, "--to", at, "--limit", "0", "--json"]) == 0
    out, err = capsys.readouterr()
    assert [json.loads(x)["seq"] for x in out.splitlines()] == [3]
    assert "seq 8: an index column disagrees with the hashed body" in err
