"""`chronex serve`: a venue on the wire, its clock moved through the admin channel, shut down
gracefully by SIGTERM, restarted over the same log with the same state, and a live log locked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from system.engine import OrderAccepted, Phase, Side, SubmitOrder, TradeExecuted
from system.server.admin import AdminClient, AdminError
from system.server.process import ServeFailed, ServeProcess

ROOT = Path(__file__).resolve().parents[2]
START = "2031-01-06T08:55+09:00"  # a Monday in 2031: the clock is the test's, not the host's


def _serve(tmp_path: Path, *extra: str) -> ServeProcess:
    log = str(tmp_path / "day.db")
    return ServeProcess(
        ["--venue", "XTKS", "--instruments", "7203", "--log", log, "--start", START, *extra], cwd=ROOT
    )


def test_virtual_time_moves_only_when_asked_and_orders_trade(tmp_path: Path) -> None:
    """Virtual time stays put until the admin channel runs it to the open; then orders trade in 2031."""
    srv = _serve(tmp_path)
    try:
        c = AdminClient("127.0.0.1", srv.admin_port)
        t0 = c.now()
        assert c.now() == t0
        assert c.phase("XTKS:7203") is Phase.CLOSED or c.phase("XTKS:7203") is Phase.PRE_OPEN
        c.call("run_until_phase", venue="XTKS", phase="CONTINUOUS")
        assert c.phase("XTKS:7203") is Phase.CONTINUOUS
        buy = c.execute(SubmitOrder("A", "b1", "XTKS:7203", Side.BUY, 100, price=25000))
        sell = c.execute(SubmitOrder("B", "s1", "XTKS:7203", Side.SELL, 100, price=25000))
        assert isinstance(buy[0].record, OrderAccepted)
        trade = next(e for e in sell if isinstance(e.record, TradeExecuted))
        assert trade.valid_time >= 1_925_424_000 * 10**9  # 2031-01-06 09:00 JST
        with pytest.raises(AdminError, match="negative"):
            c.call("advance", t=-1)
        with pytest.raises(AdminError, match="unknown op"):
            c.call("fly")
        c.close()
    finally:
        assert srv.terminate() == 0


def test_restart_resumes_identical_state(tmp_path: Path) -> None:
    """After SIGTERM and a restart over the same log, the book, the log and the clock carry on."""
    srv = _serve(tmp_path)
    c = AdminClient("127.0.0.1", srv.admin_port)
    c.call("run_until_phase", venue="XTKS", phase="CONTINUOUS")
    c.execute(SubmitOrder("A", "b1", "XTKS:7203", Side.BUY, 300, price=25000))
    book, head, now = c.book("XTKS:7203"), c.call("head"), c.now()
    c.close()
    assert srv.terminate() == 0
    srv = _serve(tmp_path)
    try:
        c = AdminClient("127.0.0.1", srv.admin_port)
        assert c.book("XTKS:7203") == book
        assert c.call("head")["hash"] == head["hash"]
        assert c.now() >= now
        c.close()
    finally:
        srv.terminate()


def test_a_served_log_is_locked_and_bad_flags_exit_2(tmp_path: Path) -> None:
    """A second server over a live log is refused with one line; so is an unknown clock mode."""
    srv = _serve(tmp_path)
    try:
        with pytest.raises(ServeFailed, match="being served by another process"):
            _serve(tmp_path)
    finally:
        srv.terminate()
    r = subprocess.run(
        [sys.executable, "-c", "from chronex.cli import entry; entry()", "serve", "--clock", "sundial"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 2
    assert "sundial" in r.stderr and "Traceback" not in r.stderr


def test_fix_flags_are_checked_and_the_acceptance_profile_serves(tmp_path: Path) -> None:
    """--fix-port without sessions is one line and exit 2; the acceptance profile listens."""
    r = subprocess.run(
        [sys.executable, "-c", "from chronex.cli import entry; entry()", "serve", "--fix-port", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 2 and "--sessions" in r.stderr and "Traceback" not in r.stderr
    srv = ServeProcess(["--venue", "XTKS", "--fix-port", "0", "--fix-profile", "acceptance"], cwd=ROOT)
    try:
        assert srv.fix_port > 0
    finally:
        assert srv.terminate() == 0
