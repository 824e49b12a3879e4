"""`chronex mock`: the catalogue listed; the whole set started beside `chronex serve`, sharing its
virtual clock (the makers quote when serve's clock moves) and shut down cleanly by SIGTERM (FIX
sessions logged out, exit 0); bad input named, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mocks.catalogue import MOCKS
from system.server.admin import AdminClient
from system.server.process import ServeProcess

ROOT = Path(__file__).resolve().parents[2]
START = "2031-01-06T09:00+09:00"
CLI = [sys.executable, "-c", "from chronex.cli import entry; entry()", "mock"]


def chronex_mock(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_list_names_every_catalogued_mock() -> None:
    """`chronex mock list --json` prints every mock of the catalogue with its summary."""
    done = chronex_mock("list", "--json")
    assert done.returncode == 0, done.stderr
    assert [m["name"] for m in json.loads(done.stdout)] == [s.name for s in MOCKS]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["nope"], "'nope'"),
        (["exchange", "--port", "70000"], "--port 70000"),
        (["exchange", "--profile", "/no/such.toml"], "/no/such.toml"),
        (["makers"], "--target serve=host:port"),
        (["exchange", "--target", "serve"], "'serve'"),
        (["--all"], "--config"),
        (["--all", "--config", "/no/such.toml"], "/no/such.toml"),
        (["exchange", "--follow", "127.0.0.1:1"], "127.0.0.1:1"),
        (["exchange", "--speed", "-3"], "-3"),
        (["exchange", "--replay", "/no/such.db"], "/no/such.db"),
        # a recording never goes into an existing log (its RunFinished, or another writer's)
        (["exchange", "--record", __file__], "already exists"),
    ],
)
def test_bad_input_is_one_line_naming_the_value_and_exit_2(args: list[str], named: str) -> None:
    """Each bad flag or value is a one-line message naming it, exit code 2, no traceback."""
    done = chronex_mock(*args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert named in done.stderr and "Traceback" not in done.stderr


def test_a_bad_profile_value_names_the_field(tmp_path: Path) -> None:
    """A profile with a wrong type names the field and the value."""
    p = tmp_path / "ex.toml"
    p.write_text('[exchange]\nvenue = "CRYPTO"\ncalendar = "yes"\n[[fix.session]]\ntarget_comp_id = "H"\n')
    done = chronex_mock("exchange", "--profile", str(p))
    assert done.returncode == 2 and "exchange.calendar: 'yes'" in done.stderr, done.stderr


def test_all_starts_beside_serve_follows_its_clock_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    """`chronex mock --all --config` starts every mock, the makers log on to serve and quote once
    serve's virtual clock moves, and SIGTERM logs every session out and exits 0."""
    srv = ServeProcess(
        ["--venue", "XTKS", "--instruments", "7203", "--no-calendar", "--start", START, "--fix-port", "0",
         "--sessions", str(ROOT / "mocks" / "serve-sessions.toml")],
        cwd=ROOT,
    )  # fmt: skip
    admin = f"127.0.0.1:{srv.admin_port}"
    cfg = tmp_path / "mocks.toml"
    cfg.write_text(
        f'record = "{tmp_path / "traffic.db"}"\n[clock]\nfollow = "{admin}"\n'
        f'[targets]\nserve = "127.0.0.1:{srv.fix_port}"\nadmin = "{admin}"\n'
    )
    c = AdminClient("127.0.0.1", srv.admin_port)
    proc = subprocess.Popen(
        [*CLI, "--all", "--config", str(cfg)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        ready = json.loads(line)
        assert set(ready["mocks"]) == {s.name for s in MOCKS}
        assert ready["clock"] == "FollowClock" and ready["now"] == c.now()

        def active() -> set[str]:
            st = c.call("fix_status")["sessions"]
            return {k.split("->")[1] for k, v in st.items() if v["state"] == "ACTIVE"}

        for _ in range(600):
            if {"MM1", "MM2", "MM3", "OEMS"} <= active():
                break
            time.sleep(0.05)
        assert {"MM1", "MM2", "MM3", "OEMS"} <= active()
        c.call("advance", t=2 * 10**9)  # the makers step on serve's clock, then quote
        for _ in range(600):
            if {o.account for o in c.open_orders(None, "XTKS:7203")} == {"MM1", "MM2", "MM3"}:
                break
            time.sleep(0.05)
        assert {o.account for o in c.open_orders(None, "XTKS:7203")} == {"MM1", "MM2", "MM3"}
        proc.terminate()
        assert proc.wait(60) == 0
        assert not active()  # every session logged out
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)
        for f in (proc.stdout, proc.stderr):
            if f is not None:
                f.close()
        c.close()
        assert srv.terminate() == 0
