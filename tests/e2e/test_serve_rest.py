"""`chronex serve --rest-port`: the ready line names the port, orders and queries answer over HTTP
with the roles of the keys file, SIGTERM stops it cleanly; bad REST flags exit 2 with one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from system.server.process import ServeProcess
from tests import cli

ROOT = Path(__file__).resolve().parents[2]
KEYS = ROOT / "config" / "api-keys.example.toml"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return cli.chronex("serve", *args, timeout=60)


def test_serve_with_rest_port_answers_over_http(tmp_path: Path) -> None:
    srv = ServeProcess(
        ["--venue", "XTKS", "--instruments", "7203", "--no-calendar", "--log", str(tmp_path / "day.db"),
         "--start", "2031-01-06T09:00+09:00", "--rest-port", "0", "--api-keys", str(KEYS)],
        cwd=ROOT,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{srv.info['rest_port']}"
        with httpx.Client(base_url=base, timeout=30) as c:
            assert c.get("/openapi.json").json()["info"]["title"] == "Chronex REST"
            alice = {"X-API-Key": "trader-acc1-key"}
            body = {
                "account": "ACC1",
                "instrument": "XTKS:7203",
                "side": "BUY",
                "qty": "100",
                "price": "2500",
            }
            r = c.post("/v1/orders", json=body, headers=alice)
            assert r.status_code == 201, r.text
            r = c.post("/v1/orders", json=body | {"account": "ACC2"}, headers=alice)
            assert r.status_code == 403
            l2 = c.get("/v1/books/XTKS:7203/l2", headers={"X-API-Key": "auditor-key"}).json()
            assert l2["bids"] == [{"price": "2500", "qty": "100", "count": 1}]
            assert c.get("/v1/audit/verify", headers={"X-API-Key": "auditor-key"}).json()["ok"]
    finally:
        assert srv.terminate() == 0


def test_bad_rest_flags_exit_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "keys.toml"
    bad.write_text('[[key]]\nkey = "k"\nname = "t"\nrole = "trader"\n')
    for args, word in [
        (["--rest-port", "0"], "--rest-port needs --api-keys"),
        (["--api-keys", str(KEYS)], "--api-keys needs --rest-port"),
        (["--rest-port", "0", "--api-keys", "nope.toml"], "no such file"),
        (["--rest-port", "0", "--api-keys", str(bad)], "trader 't' has no accounts"),
    ]:
        r = _cli(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert word in r.stderr and "Traceback" not in r.stderr


def test_a_bad_rest_switch_exits_2_naming_it_before_the_log_is_opened(tmp_path: Path) -> None:
    log = tmp_path / "day.db"
    for name in ("CHRONEX_REST_THREAD", "CHRONEX_REST_HOTPATH"):
        r = subprocess.run(
            [sys.executable, "-c", "from chronex.cli import entry; entry()", "serve", "--log", str(log),
             "--rest-port", "0", "--api-keys", str(KEYS)],
            cwd=ROOT, capture_output=True, text=True, timeout=60, env={**os.environ, name: "yes"},
        )  # fmt: skip
        assert r.returncode == 2, (name, r.stdout, r.stderr)
        assert f"{name} must be 0 or 1, got 'yes'" in r.stderr and "Traceback" not in r.stderr
        assert not log.exists()


def test_a_start_that_fails_after_opening_the_log_leaves_no_log(tmp_path: Path) -> None:
    """Flags checked once the log is open (sessions, clock, feed, tracing) and a port already in
    use: one line, exit 2, and the log file that start made is gone with its lock."""
    import socket

    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    busy = str(held.getsockname()[1])
    sessions = str(ROOT / "config" / "fix-sessions.example.toml")
    log = tmp_path / "day.db"
    try:
        for args, word in [
            (["--fix-port", "70000"], "--fix-port 70000 is not a port"),
            (["--fix-port", "0"], "--fix-port needs --sessions"),
            (["--fix-port", "0", "--sessions", sessions, "--fix-store", "bogus"], "store URL 'bogus'"),
            (["--clock", "paced", "--speed", "-1"], "--speed '-1'"),
            (["--mold-port", "0"], "--mold-port needs"),
            (["--sessions", sessions], "--sessions configures the FIX acceptor"),
            (["--mold-to", "127.0.0.1:9200"], "--mold-to names where"),
            (["--mold-port", "0", "--mold-to", "bogus"], "--mold-to"),
            (["--admin-port", busy], "cannot listen"),
            (["--fix-port", busy, "--sessions", sessions], "cannot listen"),
        ]:
            r = _cli("--venue", "XTKS", "--instruments", "7203", "--log", str(log), *args)
            assert r.returncode == 2, (args, r.stdout, r.stderr)
            assert word in r.stderr and r.stderr.strip().count("\n") == 0, (args, r.stderr)
            assert list(tmp_path.iterdir()) == [], (args, list(tmp_path.iterdir()))
    finally:
        held.close()
