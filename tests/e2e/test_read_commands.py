"""The auditors' read commands (issue 11): they never write to the log they read, and a log on
read-only media still answers; the replay cache lives beside the log and is rebuilt, never
trusted, when it does not match; a tampered log gets no report or export unless asked; bad
input is one line and exit 2."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from chronex.cli import main
from sim.replay.cache import close_all
from sim.replay.synthetic import Flow, continuous_windows, day_config, run_day, tokyo
from sim.world import World
from system.corrections import BustTrade

DAY = date(2027, 1, 6)
AS_OF = "10:00 Asia/Tokyo"


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A recorded TSE day on SQLite with trade 3 busted at 15:50."""
    path = tmp_path_factory.mktemp("read") / "day.db"
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


@pytest.fixture(autouse=True)
def user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The user's cache folder of this test (where a cache goes when the log's folder is read-only)."""
    d = tmp_path / "user-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(d))
    yield d
    close_all()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(list(args))
    got = capsys.readouterr()
    return rc, got.out, got.err


def sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture
def readonly_log(log: Path, tmp_path: Path) -> Iterator[Path]:
    """A copy of the log, chmod 0444, in a folder chmod 0555."""
    folder = tmp_path / "evidence"
    folder.mkdir()
    p = folder / "day.db"
    shutil.copy(log, p)
    p.chmod(0o444)
    folder.chmod(0o555)
    yield p
    folder.chmod(0o755)
    p.chmod(0o644)


def test_every_read_command_leaves_a_read_only_log_unchanged_and_answers(
    readonly_log: Path, tmp_path: Path, user_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """log show, log verify, replay --as-of, diff, export and report on a read-only log in a
    read-only folder: each answers (exit 0), the log's bytes and the folder are unchanged, and
    the replay cache went to the user's cache folder."""
    before, listing = sha256(readonly_log), sorted(os.listdir(readonly_log.parent))
    log = str(readonly_log)
    out = tmp_path / "out"
    out.mkdir()
    commands = [
        ("log", "show", log, "--limit", "5"),
        ("log", "verify", log),
        ("replay", log, "--as-of", AS_OF, "--json"),
        ("replay", log, "--as-of", "15:00 Asia/Tokyo", "--known-at", "15:49 Asia/Tokyo", "-q"),
        ("diff", log, log, "--check"),
        ("export", log, "--to", "csv", str(out / "csv")),
        ("report", log, "--out", str(out / "day.html")),
    ]
    for args in commands:
        rc, stdout, err = run(capsys, *args)
        assert rc == 0, (args, err)
        assert stdout.strip(), args
        assert sha256(readonly_log) == before, args
        assert sorted(os.listdir(readonly_log.parent)) == listing, args
    assert [p.name for p in user_cache.glob("chronex/*.replay")] != []
    assert (out / "day.html").read_text().count("VERIFIED") >= 1


def test_the_cache_lives_beside_the_log_and_reading_writes_nothing_into_it(
    log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """In a writable folder the cache is LOG.replay; the log's bytes never change, and the
    log's own snapshot table stays empty."""
    p = tmp_path / "day.db"
    shutil.copy(log, p)
    before = sha256(p)
    rc, out, _ = run(capsys, "replay", str(p), "--as-of", AS_OF, "--json")
    assert rc == 0 and json.loads(out)["basis"]["seq"] > 0
    rc, _, _ = run(capsys, "report", str(p), "--out", str(tmp_path / "r.html"))
    assert rc == 0 and sha256(p) == before
    assert (tmp_path / "day.db.replay").stat().st_size > 0
    with sqlite3.connect(f"file:{p}?mode=ro", uri=True) as db:
        assert db.execute("SELECT count(*) FROM snapshots").fetchone()[0] == 0


def test_cache_option_puts_the_cache_in_that_folder(
    log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--cache DIR holds the cache; nothing is added beside the log."""
    p = tmp_path / "logs" / "day.db"
    p.parent.mkdir()
    shutil.copy(log, p)
    cache = tmp_path / "c"
    rc, _, err = run(capsys, "replay", str(p), "--as-of", AS_OF, "-q", "--cache", str(cache))
    assert rc == 0, err
    assert len(list(cache.glob("day.db.*.replay"))) == 1
    assert os.listdir(p.parent) == ["day.db"]
    rc, _, err = run(capsys, "replay", str(p), "--as-of", AS_OF, "-q", "--cache", str(p))
    assert rc == 2 and "--cache" in err and "not a folder" in err


def _answer(capsys: pytest.CaptureFixture[str], log: Path, *extra: str) -> dict[str, object]:
    rc, out, err = run(capsys, "replay", str(log), "--as-of", AS_OF, "--json", *extra)
    assert rc == 0, err
    data = json.loads(out)
    data["basis"].pop("snapshot_seq")
    data["basis"].pop("folded")
    return dict(data)


def test_a_cache_that_does_not_match_its_log_is_rebuilt_not_trusted(
    log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another log's cache, a damaged blob or a file of garbage in the cache's place: the
    answer is the same as from a fresh cache."""
    p = tmp_path / "day.db"
    shutil.copy(log, p)
    fresh = _answer(capsys, p, "--cache", str(tmp_path / "fresh"))
    # Another log's cache (a shorter run of the same flow) in this log's cache's place.
    other = tmp_path / "other" / "day.db"
    other.parent.mkdir()
    cfg = day_config(seed=4)
    world = World(cfg, start_ns=tokyo(DAY, 7), log=other, until_ns=tokyo(DAY, 16))
    flow = Flow(5, cfg.instruments, continuous_windows(DAY), mean_gap_ns=8_000_000_000)
    run_day(world, flow, end_ns=tokyo(DAY, 16), limit=1_000)
    world.close()
    rc, _, _ = run(capsys, "replay", str(other), "--as-of", AS_OF, "-q", "--snapshot-every", "50")
    assert rc == 0
    close_all()
    shutil.copy(other.with_name("day.db.replay"), p.with_name("day.db.replay"))
    assert _answer(capsys, p) == fresh
    # Every stored blob altered: the index's hashes no longer match.
    close_all()
    with sqlite3.connect(p.with_name("day.db.replay")) as db:
        db.execute("UPDATE snapshots SET state = state || x'00' WHERE name != 'replay/index'")
    assert _answer(capsys, p) == fresh
    # Not a database at all.
    close_all()
    p.with_name("day.db.replay").write_bytes(b"not a cache" * 100)
    assert _answer(capsys, p) == fresh


def _tampered(log: Path, tmp_path: Path, *, decodes: bool = True) -> tuple[Path, int]:
    """A copy of the log with one trade's buyer changed in its stored body (it still decodes:
    the altered value is what an export would show) or, with ``decodes=False``, cut in half so
    it no longer decodes. Returns the path and the altered seq."""
    bad = tmp_path / "bad.db"
    shutil.copy(log, bad)
    with sqlite3.connect(bad) as db:
        rows = db.execute("SELECT seq, body FROM events ORDER BY seq").fetchall()
        seq, body = next((s, b) for s, b in rows if b"TradeExecuted" in b and b"ACC-1" in b)
        new = body.replace(b"ACC-1", b"ACC-9", 1) if decodes else body[: len(body) // 2]
        db.execute("UPDATE events SET body = ? WHERE seq = ?", (new, seq))
    return bad, seq


def test_report_of_a_tampered_log_exits_1_and_writes_nothing_unless_allowed(
    log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No report for a log that fails verification; --allow-tampered writes one whose title
    and first line say TAMPERED."""
    bad, seq = _tampered(log, tmp_path)
    html = tmp_path / "bad.html"
    rc, out, err = run(capsys, "report", str(bad), "--out", str(html))
    assert rc == 1 and "tampered" in err and f"seq {seq}" in err and "--allow-tampered" in err
    assert not html.exists() and out == ""
    rc, out, err = run(capsys, "report", str(bad), "--out", str(html), "--allow-tampered")
    assert rc == 0 and "TAMPERED" in err
    text = html.read_text()
    assert "<title>TAMPERED LOG" in text
    body = text.split("<body>", 1)[1]
    assert body.startswith('<p class="bad">TAMPERED LOG') and f"seq {seq}" in body


def test_diff_with_a_tampered_log_exits_1_and_compares_nothing(
    log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A list of differences is evidence: against a log that fails verification, on either
    side, diff compares nothing and names the seq (it said "0 differences" before)."""
    bad, seq = _tampered(log, tmp_path)
    for a, b in ((log, bad), (bad, log)):
        rc, out, err = run(capsys, "diff", str(a), str(b))
        assert rc == 1 and "tampered" in err and f"seq {seq}" in err and out == ""
    rc, out, _ = run(capsys, "diff", str(log), str(log))
    assert rc == 0 and "0 differences" in out


def test_export_of_a_tampered_log_exits_1_and_writes_nothing_unless_allowed(
    log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No export of a log that fails verification; --allow-tampered marks each file: a first
    comment line in CSV, the schema metadata in Parquet."""
    bad, seq = _tampered(log, tmp_path)
    d = tmp_path / "x"
    rc, out, err = run(capsys, "export", str(bad), "--to", "csv", str(d))
    assert rc == 1 and "tampered" in err and f"seq {seq}" in err and not d.exists() and out == ""
    rc, out, err = run(
        capsys, "export", str(bad), "--to", "csv", "--what", "trades", str(d), "--allow-tampered"
    )
    assert rc == 0 and "TAMPERED" in err
    csv = d / "trades.csv"
    assert csv.read_text().splitlines()[0].startswith("# TAMPERED LOG")
    assert "ACC-9" in set(pd.read_csv(csv, comment="#")["buy_account"])  # the altered value, flagged
    rc, _, _ = run(capsys, "export", str(bad), "--what", "trades", str(tmp_path / "pq"), "--allow-tampered")
    meta = pq.read_schema(tmp_path / "pq" / "trades.parquet").metadata
    assert rc == 0 and meta[b"chronex.integrity"].startswith(b"TAMPERED LOG")


def test_a_tampered_entry_that_no_longer_decodes_is_exit_1_even_when_allowed(
    log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--allow-tampered cannot export an entry that no longer decodes: exit 1, nothing written."""
    bad, _ = _tampered(log, tmp_path, decodes=False)
    d = tmp_path / "x"
    rc, _, err = run(capsys, "export", str(bad), str(d), "--allow-tampered")
    assert rc == 1 and "no longer decodes" in err and not d.exists()


def test_what_if_set_is_checked_against_the_schema(
    log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The documented what-if runs; an unknown key, a non-number or a negative limit exits 2
    naming the key and what is allowed, and writes no log."""
    out = tmp_path / "whatif.db"
    rc, stdout, err = run(
        capsys, "replay", str(log), "--rerun", "--out", str(out), "-q",
        "--set", "risk.accounts.ACC-1.max_order_qty=500",
    )  # fmt: skip
    assert rc == 0 and "differs" in stdout, err
    bad = {
        "no.such.path=1": "has no key 'no'",
        "risk.accounts.ACC-1.max_order_qty=abc": "not a decimal number",
        "risk.accounts.ACC-1.max_order_qty=-5": "must not be negative",
        "risk.accounts.ACC-1.nope=5": "has no key 'nope'",
        "risk.firm.collar_bp=wide": "Expected `int | null`",
        "default_phase=OPEN": "not one of CLOSED",
        "instruments.XTKS:9999.max_qty=1": "no item 'XTKS:9999'",
    }
    for i, (item, why) in enumerate(bad.items()):
        target = tmp_path / f"bad{i}.db"
        rc, _, err = run(capsys, "replay", str(log), "--rerun", "--out", str(target), "-q", "--set", item)
        assert rc == 2 and why in err and item.split("=")[0].split(".")[-1] in err, (item, err)
        assert len(err.strip().splitlines()) == 1 and not target.exists()


@pytest.mark.parametrize(
    ("toml", "why"),
    [
        ("[risk.firm]\nmax_order_qty = 500\n", "risk.firm.max_order_qty = 500: Expected `str | null`"),
        ("[risk.frim]\nmax_order_qty = '500'\n", "risk.frim: no such key in risk"),
        ("nonsense = 1\n", "nonsense: no such key in the configuration"),
        ("seed = 'x'\n", "config.seed = 'x': Expected `int`"),
        ("[risk\n", "--config"),
    ],
)
def test_replay_config_file_errors_are_one_line_exit_2(
    log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, why: str
) -> None:
    """--config with a wrong type or an unknown key: one line naming it, exit 2, no log."""
    f = tmp_path / "whatif.toml"
    f.write_text(toml)
    out = tmp_path / "w.db"
    rc, _, err = run(capsys, "replay", str(log), "--rerun", "--out", str(out), "--config", str(f), "-q")
    assert rc == 2 and why in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (("report", "{log}", "--tz", "Bad/Zone"), "--tz 'Bad/Zone' is not a time zone"),
        (("report", "{log}", "--out", "{tmp}/missing/r.html"), "does not exist"),
        (("report", "{log}", "--out", "{tmp}"), "is a folder"),
        (("export", "{log}", "{log}"), "is a file, not a folder"),
        (("export", "{log}", "{log}/sub"), "is a file, not a folder"),
        (("replay", "{log}", "--rebase", "9999-12-31", "--out", "{tmp}/r.db"), "outside the dates"),
        (("replay", "{log}", "--rebase", "2040-01-04", "--out", "{tmp}/r.db"), "calendar's horizon"),
        (("replay", "{log}", "--as-of", str(10**30)), "outside the times a log can hold"),
        (("replay", "{log}", "--rerun", "--out", "{tmp}/missing/w.db"), "does not exist"),
        (("replay", "{log}", "--as-of", "-" + str(10**30)), "outside the times a log can hold"),
        (("replay", "{log}", "--as-of", AS_OF, "--tz", "Mars/Base"), "not a time zone"),
        (("replay", "{log}", "--as-of", AS_OF, "--out", "{tmp}/x.db"), "--out goes with --rerun or --rebase"),
        (("replay", "{log}", "--as-of", AS_OF, "--known-at", str(10**25)), "outside the times"),
        (("log", "show", "{log}", "--from", str(10**30)), "outside the times"),
        (("log", "show", "{log}", "--tz", "Bad/Zone"), "not a time zone"),
        # An empty log of this process: diff said '1006 differences', export wrote empty files.
        (("diff", "{log}", "memory://"), "a memory log lives only inside the process"),
        (("export", "memory://", "{tmp}/x"), "a memory log lives only inside the process"),
        (("log", "verify", "memory://"), "a memory log lives only inside the process"),
    ],
)
def test_read_command_bad_input_is_one_line_and_exit_2(
    log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], why: str
) -> None:
    """Each of these used to end in 'internal error' (exit 3)."""
    argv = [a.format(log=log, tmp=tmp_path) for a in args]
    rc, _, err = run(capsys, *argv)
    assert rc == 2 and why in err and len(err.strip().splitlines()) == 1, err
    assert "internal error" not in err


def test_report_into_a_folder_it_may_not_write_is_exit_2(
    log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A write the system refuses is one line naming the path (skipped where root may write)."""
    d = tmp_path / "locked"
    d.mkdir()
    d.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(d, os.W_OK):
            pytest.skip("this user may write to a read-only folder (root)")
        rc, _, err = run(capsys, "report", str(log), "--out", str(d / "r.html"))
        assert rc == 2 and "cannot write" in err
    finally:
        d.chmod(0o755)


@pytest.fixture(scope="module")
def sim_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short simulated XTKS morning on SQLite (instruments priced in 0.1 yen units)."""
    from sim.markets import simulated_day

    path = tmp_path_factory.mktemp("sim") / "morning.db"
    day = simulated_day(
        "XTKS", date(2027, 1, 4), instruments=["7203", "8306"], seed=7, activity=0.3,
        start_ns=tokyo(date(2027, 1, 4), 8, 50), until_ns=tokyo(date(2027, 1, 4), 9, 5), log=path,
    )  # fmt: skip
    day.run()
    day.close()
    return path


def test_log_show_reads_like_the_other_commands(
    sim_log: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """log show: venue time by default, prices and quantities as decimals (--json keeps the
    ints), and at most 50 rows unless --limit says otherwise."""
    monkeypatch.setenv("COLUMNS", "400")  # a wide terminal: no payload folded mid-word
    rc, out, _ = run(capsys, "log", "show", str(sim_log), "--type", "OrderAccepted", "--json", "--limit", "1")
    first = json.loads(out)["payload"]
    assert rc == 0 and isinstance(first["price"], int)
    inc = {"XTKS:7203": "0.1", "XTKS:8306": "0.1"}[first["instrument"]]
    from decimal import Decimal

    rc, out, _ = run(capsys, "log", "show", str(sim_log), "--type", "OrderAccepted")
    assert rc == 0 and "the first 50 entries (--limit 0 for all)" in " ".join(out.split())
    assert "+09:00" in out and "times in Asia/Tokyo" in " ".join(out.split())
    assert f"price={first['price'] * Decimal(inc)}" in out
    rc, out, _ = run(
        capsys, "log", "show", str(sim_log), "--type", "OrderAccepted", "--limit", "0", "--tz", "UTC"
    )
    rows = [line for line in out.splitlines() if "OrderAccepted" in line and "+00:00" in line]
    assert rc == 0 and len(rows) > 50


def test_replay_header_says_what_it_folded(sim_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The header names the snapshot and the range of entries whose events were folded (the
    commands in that range are inputs and fold into nothing, so no sum that cannot add up)."""
    import re

    rc, out, _ = run(
        capsys, "replay", str(sim_log), "--as-of", "09:04 Asia/Tokyo", "-q", "--snapshot-every", "1000"
    )
    m = re.search(
        r"folded up to seq (\d+) \(from snapshot seq (\d+), then (\d+) events of entries (\d+)\.\.(\d+)\)",
        out,
    )
    assert rc == 0 and m, out.splitlines()[0]
    seq, snap, folded, lo, hi = map(int, m.groups())
    assert lo == snap + 1 and hi == seq and 0 < folded <= seq - snap and snap % 1000 == 0
