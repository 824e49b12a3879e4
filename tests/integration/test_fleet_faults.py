"""Faults in a fleet: a worker killed with SIGKILL mid-day has its day retried elsewhere, and the
fleet completes with every log whole and verifying (no half log, no second copy)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from chronex.cli import main
from chronex.fleet.days import simulate_day
from chronex.fleet.plan import DayTask
from chronex.timearg import parse_instant

ROOT = Path(__file__).resolve().parents[2]
PARTIAL = re.compile(r"^(XTKS-\d{4}-\d\d-\d\d-s\d+)\.(\d+)\.db$")


@pytest.mark.slow
def test_kill_9_of_a_worker_mid_day_the_fleet_completes_and_verifies(tmp_path: Path) -> None:
    """SIGKILL the worker process writing a day: Dask reschedules the day, the fleet exits 0, every
    log verifies against the manifest, and the killed day has the head hash it has when run alone."""
    out = tmp_path / "fleet"
    args = [sys.executable, "-c", "from chronex.cli import entry; entry()", "fleet", "sim", "--venue", "XTKS",
            "--instruments", "7203", "--from-time", "08:59", "--until", "09:10", "--from", "2027-01-04",
            "--to", "2027-01-06", "--seeds", "1", "--workers", "2", "--out", str(out), "--quiet"]  # fmt: skip
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed: tuple[str, int] | None = None
    deadline = time.monotonic() + 120
    try:
        while killed is None and proc.poll() is None and time.monotonic() < deadline:
            for p in (out / ".partial").glob("*.db") if (out / ".partial").is_dir() else ():
                m = PARTIAL.match(p.name)
                if m and p.stat().st_size > 0:  # the worker has started writing this day
                    os.kill(int(m.group(2)), signal.SIGKILL)
                    killed = (m.group(1), int(m.group(2)))
                    break
            time.sleep(0.02)
        _, stderr = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert killed is not None, "no day was caught mid-write"
    assert proc.returncode == 0, stderr
    man = json.loads((out / "fleet.json").read_text())
    assert [e["date"] for e in man["logs"]] == ["2027-01-04", "2027-01-05", "2027-01-06"]
    expected = [n for e in man["logs"] for n in (e["log"], e["log"][:-3] + ".json")]
    # No partial folder left, no second copy of the killed day.
    assert sorted(p.name for p in out.iterdir()) == sorted([*expected, "fleet.json", "summary.csv"])
    assert main(["fleet", "verify", str(out), "--workers", "1", "--quiet"]) == 0

    name = killed[0]
    entry = next(e for e in man["logs"] if e["log"] == f"{name}.db")
    d = date.fromisoformat(entry["date"])
    start = parse_instant(f"{d}T08:59:00+09:00", what="from")
    until = parse_instant(f"{d}T09:10:00+09:00", what="until")
    alone = simulate_day(DayTask("XTKS", "XTKS", d, 1, ("7203",), start, until), str(tmp_path / "alone"))
    assert alone.head_hash == entry["head_hash"]
