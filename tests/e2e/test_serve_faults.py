"""Faults on the FIX link wired into `chronex serve`: `--faults FILE` at start, the admin `faults`
op at run time, and the features/faults scenarios that prove the session layer recovers over
`--driver fix` (and are skipped in process with their reason)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from system.server.admin import AdminClient, AdminError
from system.server.process import ServeProcess

ROOT = Path(__file__).resolve().parents[2]
SESSIONS = """\
[[session]]
sender_comp_id = "CHRONEX"
target_comp_id = "QA"
accounts = ["*"]
"""


def _chronex(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from chronex.cli import entry; entry()", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_the_faults_features_recover_over_fix_and_are_skipped_in_process(tmp_path: Path) -> None:
    """Over FIX every fault scenario passes (the fault fired, the session is back in sequence);
    in process they are skipped with the @wire reason, not failed."""
    r = _chronex("run", "features/faults", "--driver", "fix", "--report", str(tmp_path / "fix"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "9 scenarios passed, 0 failed" in r.stdout
    r = _chronex("run", "features/faults", "--report", str(tmp_path / "inprocess"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "needs the FIX wire (tagged @wire" in r.stdout
    assert "0 scenarios passed, 0 failed, 9 skipped" in r.stdout


def test_serve_takes_a_fault_plan_file_and_the_admin_channel_replaces_it(tmp_path: Path) -> None:
    """--faults FILE is installed at start (a bad one is one line, exit 2); the admin `faults` op
    swaps the plan at run time and `fix_status` reports the sessions and what fired."""
    (tmp_path / "sessions.toml").write_text(SESSIONS, encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text('[[fault]]\naction = "explode"\n', encoding="utf-8")
    base = ["serve", "--venue", "XTKS", "--instruments", "7203", "--fix-port", "0",
            "--sessions", str(tmp_path / "sessions.toml")]  # fmt: skip
    r = _chronex(*base, "--faults", str(bad))
    assert r.returncode == 2 and "explode" in r.stderr and "Traceback" not in r.stderr
    r = _chronex("serve", "--venue", "XTKS", "--faults", str(bad))
    assert r.returncode == 2 and "--fix-port" in r.stderr
    good = tmp_path / "faults.toml"
    good.write_text('[[fault]]\naction = "drop"\ndirection = "in"\nmsg_type = "D"\n', encoding="utf-8")
    srv = ServeProcess([*base[1:], "--faults", str(good)], cwd=ROOT)
    try:
        c = AdminClient("127.0.0.1", srv.admin_port)
        st = c.call("fix_status")
        assert st["sessions"]["CHRONEX->QA"]["state"] == "DISCONNECTED" and st["fired"] == []
        swapped = c.call("faults", plan={"fault": [{"action": "garble", "direction": "out"}]})
        assert swapped["faults"] == 1
        try:
            c.call("faults", plan={"fault": [{"action": "drop", "count": 0}]})
            raise AssertionError("a bad plan was installed")
        except AdminError as e:
            assert "count" in str(e)
        assert c.call("faults", plan={})["faults"] == 0
        c.close()
    finally:
        assert srv.terminate() == 0
