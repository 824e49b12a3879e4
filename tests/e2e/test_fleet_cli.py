"""`chronex fleet` as a user runs it: logs, manifest and summary; the same head hashes under any
number of workers; resume; verify; re-run; and one-line errors for bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from chronex.cli import main
from chronex.fleet.days import simulate_day
from chronex.fleet.plan import DayTask
from chronex.timearg import parse_instant

# Short days: one instrument, the opening auction and a minute of continuous trading.
DAY = ["--venue", "XTKS", "--instruments", "7203", "--from-time", "08:59", "--until", "09:01"]
SMALL = [*DAY, "--from", "2027-01-04", "--to", "2027-01-05", "--seeds", "1-2"]


def _fleet(out: Path, *extra: str) -> dict[str, object]:
    assert main(["fleet", "sim", *SMALL, "--out", str(out), "--json", *extra]) == 0
    return json.loads((out / "fleet.json").read_text())


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fleet") / "small"
    _fleet(out, "--workers", "2")
    return out


def test_one_log_per_date_and_seed_with_manifest_and_summary(fleet: Path) -> None:
    """Each (session, seed) has its log; the manifest lists each with its head hash in (date, seed)
    order; the summary has trades, volume, volatility and spread per instrument and day."""
    man = json.loads((fleet / "fleet.json").read_text())
    names = [e["log"] for e in man["logs"]]
    assert names == ["XTKS-2027-01-04-s1.db", "XTKS-2027-01-04-s2.db",
                     "XTKS-2027-01-05-s1.db", "XTKS-2027-01-05-s2.db"]  # fmt: skip
    assert sorted(p.name for p in fleet.glob("*.db")) == names
    assert len({e["head_hash"] for e in man["logs"]}) == 4  # every day its own order flow
    assert not (fleet / ".partial").exists()
    import pandas as pd

    summary = pd.read_csv(fleet / "summary.csv")
    assert list(summary.columns) == ["date", "seed", "instrument", "trades", "volume", "volatility_pct",
                                     "spread_ticks"]  # fmt: skip
    assert len(summary) == 4 and (summary["trades"] > 0).all() and (summary["spread_ticks"] > 0).all()


def test_a_fleet_day_is_the_day_chronex_sim_writes(fleet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`chronex sim` with the manifest's run seed reproduces a fleet log's head hash."""
    entry = json.loads((fleet / "fleet.json").read_text())["logs"][3]
    args = ["sim", "--venue", "XTKS", "--instruments", "7203", "--date", entry["date"], "--from", "08:59",
            "--until", "09:01", "--seed", str(entry["run_seed"]), "--json"]  # fmt: skip
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["head_hash"] == entry["head_hash"]


def test_twenty_days_same_head_hashes_under_one_and_two_workers(tmp_path: Path) -> None:
    """The head hashes of a 20-day fleet are equal under --workers 1 and --workers 2."""
    heads = []
    for n in ("1", "2"):
        out = tmp_path / f"w{n}"
        args = ["fleet", "sim", *DAY, "--from", "2027-02-01", "--to", "2027-03-02", "--seeds", "3",
                "--out", str(out), "--workers", n, "--quiet"]  # fmt: skip
        assert main(args) == 0
        man = json.loads((out / "fleet.json").read_text())
        heads.append([(e["log"], e["head_hash"]) for e in man["logs"]])
    assert len(heads[0]) == 20
    assert heads[0] == heads[1]


def test_second_run_skips_finished_days_and_redoes_missing_ones(
    fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Resume: days whose log and result are in the folder are not run again; a removed day, or
    one whose file is not a log, is run again and comes out the same."""
    out = tmp_path / "copy"
    shutil.copytree(fleet, out)
    before = json.loads((out / "fleet.json").read_text())
    (out / "XTKS-2027-01-05-s2.db").unlink()
    (out / "XTKS-2027-01-05-s1.db").write_bytes(b"not a log")
    kept = (out / "XTKS-2027-01-04-s1.db").stat().st_mtime_ns
    capsys.readouterr()
    assert main(["fleet", "sim", *SMALL, "--out", str(out), "--workers", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["skipped"] == 2
    assert data["fleet_hash"] == before["fleet_hash"]
    assert (out / "XTKS-2027-01-04-s1.db").stat().st_mtime_ns == kept


def test_resume_into_a_folder_of_other_settings_is_refused(
    fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder holding days simulated with other settings is not mixed into: exit 2, one line."""
    out = tmp_path / "copy"
    shutil.copytree(fleet, out)
    other = [a if a != "09:01" else "09:02" for a in SMALL]
    assert main(["fleet", "sim", *other, "--out", str(out), "--workers", "1"]) == 2
    assert "other settings" in capsys.readouterr().err


def test_verify_passes_then_catches_a_swapped_log(
    fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`fleet verify` checks every chain and each head against the manifest: a log replaced by
    another (itself sound) fails, exit 1, naming it."""
    assert main(["fleet", "verify", str(fleet), "--workers", "1", "--quiet"]) == 0
    assert "all 4 logs verify" in capsys.readouterr().out
    out = tmp_path / "copy"
    shutil.copytree(fleet, out)
    shutil.copy(out / "XTKS-2027-01-04-s1.db", out / "XTKS-2027-01-05-s1.db")
    assert main(["fleet", "verify", str(out), "--workers", "1", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "1 of 4 logs" in err and "XTKS-2027-01-05-s1.db" in err


def test_rerun_reports_no_divergence_and_a_what_if_reports_every_day(
    fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Re-running every log on this build finds each the same; a what-if that lists 7203 with another
    lot size diverges on every day (reported, exit 0: a what-if is expected to differ)."""
    assert main(["fleet", "replay", str(fleet), "--rerun", "--workers", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["same"] and len(data["logs"]) == 4 and all(r["same"] for r in data["logs"])
    what_if = ["--set", "instruments.XTKS:7203.lot_size=1000"]
    assert main(["fleet", "replay", str(fleet), "--rerun", *what_if, "--workers", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert not data["same"] and all(r["divergence_seq"] is not None for r in data["logs"])


def test_rerun_of_a_folder_with_a_missing_log_fails(fleet: Path, tmp_path: Path) -> None:
    """A log the manifest lists but the folder lacks is a day that cannot be re-run: exit 1."""
    out = tmp_path / "copy"
    shutil.copytree(fleet, out)
    (out / "XTKS-2027-01-04-s2.db").unlink()
    assert main(["fleet", "replay", str(out), "--rerun", "--workers", "1", "--quiet"]) == 1


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["sim", *DAY, "--from", "2027-01-10", "--to", "2027-01-04", "--out", "{tmp}/x"], "before --from"),
        (["sim", *DAY, "--from", "2027-01-09", "--to", "2027-01-10", "--out", "{tmp}/x"], "no XTKS session"),
        (["sim", *SMALL[:-2], "--seeds", "5-1", "--out", "{tmp}/x"], "--seeds '5-1'"),
        (["sim", *SMALL, "--out", "{tmp}/x", "--workers", "0"], "--workers 0"),
        (["sim", *SMALL, "--out", "{tmp}/x", "--activity", "1e9"], "from 1e-06 to 1000"),
        (["sim", *SMALL, "--out", "{tmp}/x", "--workers", "1", "--scheduler", "tcp://h:1"], "not both"),
        (["sim", *SMALL, "--out", "{tmp}/no/x"], "does not exist"),
        (["sim", *SMALL, "--out", "{tmp}/afile/x"], "afile' is not a folder"),
        (["sim", *SMALL[:2], "--instruments", "NOPE", *SMALL[4:], "--out", "{tmp}/x"], "NOPE"),
        (["sim", *SMALL[:-4], "--until", "19:00", *SMALL[-4:], "--out", "{tmp}/x"], "--until"),
        (["sim", *SMALL, "--out", "{tmp}/x", "--scheduler", "tcp://127.0.0.1:9"], "cannot connect"),
        (["verify", "{tmp}/none"], "is not a folder"),
        (["verify", "{tmp}"], "has no logs"),
        (["replay", "{tmp}"], "--rerun"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad dates, seeds, workers, folders, instruments, times or schedulers: exit 2 naming the value."""
    (tmp_path / "afile").write_text("x")
    argv = ["fleet", *(a.replace("{tmp}", str(tmp_path)) for a in args)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1


def test_a_bad_what_if_is_refused_before_any_worker_runs(
    fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --set that makes no valid configuration is one line and exit 2."""
    assert main(["fleet", "replay", str(fleet), "--rerun", "--set", "risk=1", "--workers", "1"]) == 2
    assert "--set risk=1" in capsys.readouterr().err


def test_a_folder_holds_one_fleet(fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Another fleet into a fleet's folder would have replaced its manifest, leaving its logs out:
    refused before anything runs, naming the fleet there. The same fleet resumes as before."""
    out = tmp_path / "copy"
    shutil.copytree(fleet, out)
    before = (out / "fleet.json").read_bytes()
    other = [*DAY, "--from", "2027-01-06", "--to", "2027-01-06", "--seeds", "1"]
    assert main(["fleet", "sim", *other, "--out", str(out), "--workers", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "another fleet's (XTKS 2027-01-04..2027-01-05" in err and "XTKS-2027-01-04-s1.db" in err
    assert (out / "fleet.json").read_bytes() == before and not list(out.glob("*01-06*"))
    assert main(["fleet", "sim", *SMALL, "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["skipped"] == 4


def test_a_rerun_out_that_is_a_file_is_refused(
    fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--out naming a file (or a path under one) was an internal error (FileExistsError)."""
    f = tmp_path / "afile"
    f.write_text("x")
    for out in (f, f / "sub"):
        assert main(["fleet", "replay", str(fleet), "--rerun", "--out", str(out), "--workers", "1"]) == 2
        assert "is a file, not a folder" in capsys.readouterr().err


def test_the_worker_function_needs_nothing_but_its_task(tmp_path: Path) -> None:
    """simulate_day runs in this process too (no cluster): a complete log, no partial left."""
    until = parse_instant("2027-01-04T09:00:30+09:00", what="until")
    start = parse_instant("2027-01-04T08:59:00+09:00", what="from")
    res = simulate_day(DayTask("XTKS", "XTKS", __import__("datetime").date(2027, 1, 4), 5, ("7203",),
                               start, until), str(tmp_path))  # fmt: skip
    assert (tmp_path / res.log).is_file() and res.events > 0
    assert list((tmp_path / ".partial").iterdir()) == []
