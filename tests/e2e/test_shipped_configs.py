"""Every command works on a log made with each configuration shipped in config/.

Each command runs in a process of its own, as a user runs it: no command may depend on a module
another command (or the test) happened to import. This is how `UnknownRecordType: MarginWarning`
escaped: report, export and diff never imported risk.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests import cli

ROOT = Path(__file__).resolve().parents[2]
ALL_CONFIGS = sorted(p.name for p in (ROOT / "config").glob("*.toml"))
# The configurations a run takes (`sim --config`); the others (FIX sessions) configure a server.
SHIPPED = [n for n in ALL_CONFIGS if "risk" in n or "pricing" in n]
# The day each shipped configuration is simulated on: its venue, an instrument it configures.
DAYS = {
    "risk.example.toml": ["--venue", "XTKS", "--instruments", "7203", "--from", "08:59", "--until", "09:06"],
    "pricing.example.toml": ["--venue", "CME", "--instruments", "ESH7", "--until", "17:15"],
}
# A record only that configuration's engine writes: proof it ran and its records are read back.
WITNESS = {"risk.example.toml": "MarginWarning", "pricing.example.toml": "MarkPriceSet"}


def chronex(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return cli.chronex(*args, cwd=cwd)


def test_every_shipped_config_is_covered() -> None:
    """A run config added to config/ must join this test."""
    assert SHIPPED and set(SHIPPED) == set(DAYS) == set(WITNESS)


@pytest.mark.parametrize("name", ALL_CONFIGS)
def test_config_check_accepts_every_shipped_config(tmp_path: Path, name: str) -> None:
    """`chronex config check` knows the kind of every file in config/ and finds it valid."""
    done = chronex("config", "check", str(ROOT / "config" / name), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert ": ok, " in done.stdout


@pytest.mark.parametrize("name", SHIPPED)
def test_every_command_on_a_log_of_the_config(tmp_path: Path, name: str) -> None:
    """sim with the config, then log show, log verify, replay --as-of, --rerun, --rebase, diff,
    export and report: each exits 0 and reads the engine's own records."""
    cfg = str(ROOT / "config" / name)
    assert chronex("config", "check", cfg, cwd=tmp_path).returncode == 0
    r = chronex("sim", *DAYS[name], "--date", "2027-01-04", "--config", cfg, "--log", "day.db", "--json",
                cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)

    def ok(*args: str) -> str:
        done = chronex(*args, cwd=tmp_path)
        assert done.returncode == 0, f"chronex {' '.join(args)}: {done.stderr}"
        assert "internal error" not in done.stderr
        return done.stdout

    lines = ok("log", "show", "day.db", "--type", WITNESS[name], "--json").splitlines()
    shown = [json.loads(line) for line in lines]
    assert shown and all(e["payload"] for e in shown)
    verdict = json.loads(ok("log", "verify", "day.db", "--json"))
    assert verdict["ok"] and verdict["complete"] and verdict["head_hash"] == summary["head_hash"]
    state = json.loads(ok("replay", "day.db", "--as-of", summary["until"], "--json", "--quiet"))
    assert state
    rerun = json.loads(ok("replay", "day.db", "--rerun", "--out", "rerun.db", "--json", "--quiet"))
    assert rerun["same"] and rerun["rerun_head"][1] == summary["head_hash"]
    rebased = json.loads(
        ok("replay", "day.db", "--rebase", "2027-01-05", "--out", "rebased.db", "--json", "--quiet")
    )
    assert rebased["commands"] > 0
    for log in ("rerun.db", "rebased.db"):
        assert json.loads(ok("log", "verify", log, "--json"))["complete"]
    ok("diff", "day.db", "rerun.db", "--check")
    ok("diff", "day.db", "rebased.db", "--json")
    ok("export", "day.db", "csv", "--to", "csv")
    events = (tmp_path / "csv" / "events.csv").read_text()
    assert WITNESS[name] in events
    ok("report", "day.db", "--out", "audit.html")
    assert summary["head_hash"] in (tmp_path / "audit.html").read_text()  # the report names its basis
